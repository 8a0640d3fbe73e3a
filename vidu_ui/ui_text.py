"""Every word the web page shows, in English and Simplified Chinese.

Gradio translates in the browser, from the browser's language (``zh-CN`` → Chinese, anything else → English).
Keys are plain words joined by underscores: a dot would be read as a nested path by the browser's i18n library.
Messages that come from the core (checks, service errors) stay in English: they are the same words the command
line prints.

Texts a handler composes at run time (a task's state, elapsed time, why it failed) are picked on the server, in
the language of the request's ``Accept-Language`` (``language_of``), from ``MESSAGES``: the browser translates
only one key per text, so a sentence built from several parts is written whole in each language.
"""

from __future__ import annotations

from typing import Literal

from .catalogue import MODELS, MOVEMENT_AMPLITUDES
from .errors import REASON_HINTS
from .options import PROMPT_MAX, WM_POSITIONS

EN: dict[str, str] = {
    "title": "Vidu start–end studio",
    "tagline": "Two frames and a prompt in, one video task out.",
    "mode_demo": "Demo mode: a built-in simulator answers. No real service is called and no credits are spent",
    "mode_server": "Server key: requests use the key configured on the server",
    "mode_visitor": "Your key: paste your own Vidu API key below; it stays in this tab's session only",
    "service": "Service",
    "api_key": "Your Vidu API key",
    "api_key_info": "Used for your requests only; never stored, never shown again",
    "api_key_placeholder": "Paste your key",
    "frames": "Frames",
    "start_frame": "Start frame",
    "end_frame": "End frame",
    "start_url": "…or start frame image URL",
    "end_url": "…or end frame image URL",
    "url_info": "Used when no file is uploaded",
    "url_placeholder": "https://example.com/frame.jpg",
    "frame_hint": "PNG, JPEG or WebP · up to 50 MB",
    "swap": "⇄ Swap frames",
    "prompt": "Prompt",
    "prompt_placeholder": "Describe the motion from the start frame to the end frame…",
    "characters": f"characters (at most {PROMPT_MAX:,})",
    "model": "Model",
    "model_info": "Duration, resolution and options follow the model",
    "duration": "Duration (s)",
    "resolution": "Resolution",
    "estimate": "Estimated credits",
    "estimate_info": "An indicative estimate; the response shows the credits actually charged",
    "no_estimate": "No public price for this model",
    "auto_fit": "Auto-fit frames",
    "auto_fit_info": "Fix a pair the service would refuse (size, ratio, format) by resizing or cropping; "
    "every change is listed",
    "more_options": "More options",
    "seed": "Seed",
    "seed_info": "0 = random; reuse a seed to reproduce a video",
    "random_seed": "Random",
    "movement_amplitude": "Movement amplitude",
    "movement_info": "How much the camera and subjects move",
    "is_rec": "Recommended prompt",
    "is_rec_info": "The service writes its own prompt (+10 credits)",
    "bgm": "Background music",
    "bgm_info": "Add background music",
    "audio": "Generate sound",
    "audio_info": "Sound made together with the video",
    "off_peak": "Off-peak",
    "off_peak_info": "Cheaper; may take up to 48 h (cancelled and refunded if not done by then)",
    "watermark": "Watermark",
    "watermark_info": "Also make a watermarked copy",
    "wm_position": "Watermark position",
    "wm_url": "Watermark image URL",
    "wm_url_info": "Leave empty for the default watermark",
    "meta_data": "Metadata (JSON)",
    "meta_data_info": 'A JSON object, e.g. {"Label": "my-label"}',
    "payload": "Payload",
    "payload_info": "Passed through untouched; comes back with the task",
    "callback_url": "Callback URL",
    "callback_url_info": "An http(s) address that receives status updates",
    "preview": "Preview request",
    "generate": "Generate",
    "generating": "Generating…",
    "result": "Result",
    "result_empty": "Add two frames and a prompt, then press Generate. "
    "The task ID and the service's response appear here.",
    "task_id": "Task ID",
    "credits": "Credits charged",
    "response": "Response",
    "changes": "Auto-fit",
    "no_changes": "The frames are sent as they are.",
    "request_preview": "Request preview (cURL · Python)",
    "request_preview_info": "The exact request, ready to run: it reads the two frames from files of the same names "
    "and the key from $VIDU_API_KEY. Press Preview request or Generate to fill it in.",
    "curl": "cURL",
    "python": "Python (httpx)",
    "tab_studio": "Studio",
    "tab_history": "History",
    "status": "Status",
    "result_video": "Result",
    "cover": "Cover",
    "download": "⬇ Download video",
    "download_watermarked": "⬇ Download watermarked copy",
    "cancel": "Cancel task",
    "lookup": "Look up a task",
    "lookup_info": "A task ID made elsewhere with this key (the command line, another app); press Enter",
    "lookup_placeholder": "e.g. 911088422699962368",
    "history_state": "State",
    "history_search": "Search",
    "history_search_placeholder": "Words of the prompt, a model or a task ID",
    "history_refresh": "↻ Refresh",
    "history_tasks": "Tasks, newest first",
    "history_selected": "Selected task",
    "history_pick": "Click a row to select a task.",
    "history_open": "Open",
    "history_reuse": "Reuse settings",
    "filter_all": "All",
    "filter_unfinished": "Not finished",
}
for _state in ("created", "queueing", "processing", "success", "failed"):
    EN[f"filter_{_state}"] = _state
for _amplitude in MOVEMENT_AMPLITUDES:
    EN[f"amplitude_{_amplitude}"] = _amplitude
for _position, _words in WM_POSITIONS.items():
    EN[f"wm_position_{_position}"] = _words
for _model in MODELS:
    EN[f"model_{_model.name.replace('.', '_')}"] = f"{_model.name} — {_model.description}"

ZH: dict[str, str] = {
    "title": "Vidu 首尾帧视频工作室",
    "tagline": "两张画面加一段描述，生成一个视频任务。",
    "mode_demo": "演示模式：由内置模拟服务应答，不会调用真实服务，也不消耗积分",
    "mode_server": "服务器密钥：请求使用服务器上配置的密钥",
    "mode_visitor": "你的密钥：请在下方粘贴你自己的 Vidu API 密钥，它只保存在当前标签页的会话中",
    "service": "服务地址",
    "api_key": "你的 Vidu API 密钥",
    "api_key_info": "仅用于你的请求；不会保存，也不会再次显示",
    "api_key_placeholder": "粘贴密钥",
    "frames": "画面",
    "start_frame": "首帧",
    "end_frame": "尾帧",
    "start_url": "…或首帧图片 URL",
    "end_url": "…或尾帧图片 URL",
    "url_info": "未上传文件时使用",
    "url_placeholder": "https://example.com/frame.jpg",
    "frame_hint": "PNG、JPEG 或 WebP · 不超过 50 MB",
    "swap": "⇄ 交换首尾帧",
    "prompt": "提示词",
    "prompt_placeholder": "描述从首帧到尾帧的运动变化…",
    "characters": f"字符（最多 {PROMPT_MAX:,}）",
    "model": "模型",
    "model_info": "时长、分辨率和可用选项随模型变化",
    "duration": "时长（秒）",
    "resolution": "分辨率",
    "estimate": "预估积分",
    "estimate_info": "仅为参考估算；实际扣除的积分以响应为准",
    "no_estimate": "该模型暂无公开价格",
    "auto_fit": "自动适配画面",
    "auto_fit_info": "当服务会拒绝这对画面（尺寸、比例、格式）时，通过缩放或裁剪修正；所有改动都会列出",
    "more_options": "更多选项",
    "seed": "随机种子",
    "seed_info": "0 = 随机；使用相同种子可复现视频",
    "random_seed": "随机",
    "movement_amplitude": "运动幅度",
    "movement_info": "镜头与主体的运动程度",
    "is_rec": "推荐提示词",
    "is_rec_info": "由服务自动撰写提示词（+10 积分）",
    "bgm": "背景音乐",
    "bgm_info": "添加背景音乐",
    "audio": "生成音频",
    "audio_info": "与视频一同生成声音",
    "off_peak": "错峰生成",
    "off_peak_info": "更便宜；最长可能需要 48 小时（届时未完成则取消并退还积分）",
    "watermark": "水印",
    "watermark_info": "另外生成一份带水印的视频",
    "wm_position": "水印位置",
    "wm_url": "水印图片 URL",
    "wm_url_info": "留空则使用默认水印",
    "meta_data": "元数据（JSON）",
    "meta_data_info": 'JSON 对象，例如 {"Label": "my-label"}',
    "payload": "透传参数",
    "payload_info": "原样透传，随任务一并返回",
    "callback_url": "回调地址",
    "callback_url_info": "接收状态更新的 http(s) 地址",
    "preview": "预览请求",
    "generate": "生成",
    "generating": "生成中…",
    "result": "结果",
    "result_empty": "添加两张画面和提示词，然后点击“生成”。任务 ID 和服务响应会显示在这里。",
    "task_id": "任务 ID",
    "credits": "消耗积分",
    "response": "响应",
    "changes": "自动适配",
    "no_changes": "画面按原样发送。",
    "request_preview": "请求预览（cURL · Python）",
    "request_preview_info": "完整的请求，可直接运行：从同名文件读取两帧图片，密钥取自 $VIDU_API_KEY。"
    "点击“预览请求”或“生成”后显示。",
    "curl": "cURL",
    "python": "Python (httpx)",
    "tab_studio": "工作室",
    "tab_history": "历史记录",
    "status": "状态",
    "result_video": "结果视频",
    "cover": "封面",
    "download": "⬇ 下载视频",
    "download_watermarked": "⬇ 下载带水印的视频",
    "cancel": "取消任务",
    "lookup": "查询任务",
    "lookup_info": "用同一密钥在别处（命令行、其他应用）创建的任务 ID；按回车查询",
    "lookup_placeholder": "例如 911088422699962368",
    "history_state": "状态",
    "history_search": "搜索",
    "history_search_placeholder": "提示词中的文字、模型或任务 ID",
    "history_refresh": "↻ 刷新",
    "history_tasks": "任务（最新在前）",
    "history_selected": "选中的任务",
    "history_pick": "点击一行以选择任务。",
    "history_open": "打开",
    "history_reuse": "复用设置",
    "filter_all": "全部",
    "filter_unfinished": "未完成",
    "filter_created": "已创建",
    "filter_queueing": "排队中",
    "filter_processing": "生成中",
    "filter_success": "成功",
    "filter_failed": "失败",
    "amplitude_auto": "自动",
    "amplitude_small": "小",
    "amplitude_medium": "中",
    "amplitude_large": "大",
    "wm_position_1": "左上",
    "wm_position_2": "右上",
    "wm_position_3": "右下",
    "wm_position_4": "左下",
    "model_viduq3-pro": "viduq3-pro — 最高画质，同步生成音频；运动生动立体",
    "model_viduq3-turbo": "viduq3-turbo — 与 viduq3-pro 相同带音频，更快更省",
    "model_viduq2": "viduq2 — q2 代模型：1–10 秒，最高 1080p",
    "model_viduq1": "viduq1 — 画面清晰、过渡平滑、镜头稳定；5 秒 1080p",
    "model_viduq2-pro": "viduq2-pro — q2 最佳画质，1–8 秒",
    "model_viduq2-turbo": "viduq2-turbo — q2 更快版本，1–8 秒",
    "model_viduq2-pro-fast": "viduq2-pro-fast — q2-pro 最快版本，仅 720p 或 1080p",
    "model_viduq1-classic": "viduq1-classic — 经典 q1 风格；5 秒 1080p",
    "model_vidu2_0": "vidu2.0 — 2.0 模型：4 秒（最高 1080p）或 8 秒（720p）",
}

TRANSLATIONS: dict[str, dict[str, str]] = {"en": EN, "zh-CN": ZH}

Lang = Literal["en", "zh-CN"]

MESSAGES_EN: dict[str, str] = {
    "state_created": "Created",
    "state_queueing": "Queueing",
    "state_processing": "Processing",
    "state_success": "Succeeded",
    "state_failed": "Failed",
    "elapsed": "{seconds} s since it was sent",
    "following": "The app follows the task and shows each change here; you may leave and open it later from History.",
    "not_followed": "The app is not following this task now.",
    "saving_video": "Saving the video on this server…",
    "video_local": "Saved on this server: it still plays after the service's link expires.",
    "video_remote": "Playing from the service's link, valid for about 24 hours after it was fetched.",
    "video_not_kept": "Videos are not kept on this server (VIDU_UI_KEEP_VIDEOS=0): download it while the link "
    "is valid.",
    "video_expired": "The service's link has expired: open the task from History to fetch a fresh one.",
    "open_at_service": "[Open the video at the service]({url})",
    "credits_charged": "{credits} credits charged",
    "failed_code": "Reason: `{code}`. {hint}",
    "failed_unknown_code": "The service gave a reason this app does not know; try again, or ask the provider "
    "quoting the task ID.",
    "failed_no_code": "The service gave no reason; try again, or ask the provider quoting the task ID.",
    "problem": "⚠ {problem}",
    "cancel_sent": "Cancel sent for task {task_id}; the state below changes once the service confirms.",
    "cancel_refused": "The service did not cancel task {task_id}",
    "lookup_bad_id": "A task ID is a number such as 911088422699962368.",
    "not_yours": "Task {task_id} is not in your history.",
    "unknown_task": "Task {task_id} is not in the history.",
    "no_viewer": "Enter your API key first: the history shows the tasks made with it.",
    "refresh_failed": "Could not query the service just now ({error}); showing what the history holds.",
    "key_needed": "Task {task_id} was made with a visitor's own key, which this server does not keep: "
    "enter that key and open the task again.",
    "recorded_failed": "Task {task_id} was created, but the history could not record it ({error}); keep its ID.",
    "reuse_done": "The settings of task {task_id} are in the form.",
    "reuse_frames_back": "Its frames were put back too.",
    "reuse_frames_gone": "Its original frames are no longer on this server, so the frames were left as they "
    "were; add them again (the thumbnails in History show which they were).",
    "history_empty": "No tasks yet.",
    "history_none_match": "No task matches.",
    "col_created": "Created",
    "col_state": "State",
    "col_model": "Model",
    "col_prompt": "Prompt",
    "col_credits": "Credits",
    "col_task": "Task ID",
    "selected_none": "",
    "selected": "**{task_id}** · {created} · {model} · {state}",
}
MESSAGES_ZH: dict[str, str] = {
    "state_created": "已创建",
    "state_queueing": "排队中",
    "state_processing": "生成中",
    "state_success": "已完成",
    "state_failed": "失败",
    "elapsed": "已提交 {seconds} 秒",
    "following": "应用会持续跟踪该任务并在此显示每次变化；你可以离开，稍后在“历史记录”中打开。",
    "not_followed": "应用当前没有跟踪该任务。",
    "saving_video": "正在把视频保存到本服务器…",
    "video_local": "已保存在本服务器：服务的链接过期后仍可播放。",
    "video_remote": "正在通过服务的链接播放，链接在获取后约 24 小时内有效。",
    "video_not_kept": "本服务器不保存视频（VIDU_UI_KEEP_VIDEOS=0）：请在链接有效期内下载。",
    "video_expired": "服务的链接已过期：请在“历史记录”中打开该任务以获取新链接。",
    "open_at_service": "[在服务上打开视频]({url})",
    "credits_charged": "已扣除 {credits} 积分",
    "failed_code": "原因：`{code}`。{hint}",
    "failed_unknown_code": "服务返回了本应用不认识的原因；请重试，或附上任务 ID 咨询服务商。",
    "failed_no_code": "服务没有给出原因；请重试，或附上任务 ID 咨询服务商。",
    "problem": "⚠ {problem}",
    "cancel_sent": "已为任务 {task_id} 发送取消请求；服务确认后下方状态会更新。",
    "cancel_refused": "服务未能取消任务 {task_id}",
    "lookup_bad_id": "任务 ID 是一串数字，例如 911088422699962368。",
    "not_yours": "任务 {task_id} 不在你的历史记录中。",
    "unknown_task": "任务 {task_id} 不在历史记录中。",
    "no_viewer": "请先输入你的 API 密钥：历史记录显示用它创建的任务。",
    "refresh_failed": "暂时无法查询服务（{error}）；下面显示历史记录中保存的内容。",
    "key_needed": "任务 {task_id} 是用访客自己的密钥创建的，本服务器不保存该密钥：请输入该密钥后重新打开任务。",
    "recorded_failed": "任务 {task_id} 已创建，但历史记录无法保存它（{error}）；请记下任务 ID。",
    "reuse_done": "任务 {task_id} 的设置已填入表单。",
    "reuse_frames_back": "原始画面也已放回。",
    "reuse_frames_gone": "原始画面已不在本服务器上，所以画面保持不变；"
    "请重新添加（历史记录中的缩略图显示了原来的画面）。",
    "history_empty": "还没有任务。",
    "history_none_match": "没有匹配的任务。",
    "col_created": "创建时间",
    "col_state": "状态",
    "col_model": "模型",
    "col_prompt": "提示词",
    "col_credits": "积分",
    "col_task": "任务 ID",
    "selected_none": "",
    "selected": "**{task_id}** · {created} · {model} · {state}",
}

REASON_HINTS_ZH: dict[str, str] = {
    "BadRequest": "服务认为请求格式有误；请检查选项后重试。",
    "FieldLacking": "缺少必填字段；请补全后重试。",
    "FieldUnwanted": "服务不接受发送的某个字段；请把该选项保持默认。",
    "FieldInvalid": "某个字段的值不被服务接受；请更正后重试。",
    "FieldItemCountOutOfRange": "请恰好发送两张图片：首帧和尾帧。",
    "PageSizeOutOfRange": "图片的尺寸、格式或比例超出范围；请开启“自动适配画面”后重试。",
    "ImageDownloadFailure": "服务无法下载图片 URL；请确认它可公开访问，或直接上传文件。",
    "ImageFormatInvalid": "图片不是 PNG、JPEG 或 WebP；请转换格式后重试。",
    "OperationInProcess": "该任务正在进行另一项操作；请稍候重试。",
    "CreditInsufficient": "账户积分不足；请充值，或选择更短、分辨率更低的视频。",
    "TaskPromptPolicyViolation": "提示词未通过内容规范审核；请修改措辞。",
    "CreationPolicyViolation": "生成结果未通过内容规范审核；请更换画面或提示词。",
    "AuditSubmitIllegal": "输入内容未通过审核；请更换画面或提示词。",
    "ModelUnavailable": "该账户当前无法使用此模型；请选择其他模型。",
    "UserCancelled": "任务已取消；积分会退还。",
    "Unauthorized": "API 密钥被拒绝；请检查 VIDU_API_KEY 和认证方式（kkiai 用 Bearer，Vidu 官方用 Token）。",
    "Forbidden": "该密钥无权执行此操作；请检查账户权限。",
    "TaskNotFound": "此密钥下没有该 ID 的任务；请检查任务 ID 和服务地址。",
    "CreationNotFound": "任务还没有结果；请稍后再查询。",
    "NotFound": "服务没有该路径；请检查 VIDU_BASE_URL 和路径设置。",
    "Conflict": "请求与任务当前状态冲突；请查询任务后重试。",
    "QuotaExceeded": "运行中的任务过多；请等待某个任务完成后重试。",
    "TooManyRequests": "请求过于频繁；请稍候重试。",
    "SystemThrottling": "服务繁忙；请稍候重试。",
    "Canceled": "服务取消了该请求；请重试。",
    "InternalServiceFailure": "服务出错；请稍后重试。",
}
"""``errors.REASON_HINTS`` in Simplified Chinese: the same reasons, the same advice."""

MESSAGES: dict[Lang, dict[str, str]] = {"en": MESSAGES_EN, "zh-CN": MESSAGES_ZH}
HINTS: dict[Lang, dict[str, str]] = {"en": REASON_HINTS, "zh-CN": REASON_HINTS_ZH}


def language_of(accept_language: str | None) -> Lang:
    """The page's language for an ``Accept-Language`` header: Chinese when the first choice is Chinese."""
    first = (accept_language or "").split(",")[0].split(";")[0].strip().lower()
    return "zh-CN" if first == "zh" or first.startswith(("zh-cn", "zh-hans", "zh-sg")) else "en"


def say(lang: Lang, key: str, **values: object) -> str:
    """A run-time text in ``lang``, its ``{placeholders}`` filled in."""
    return MESSAGES[lang][key].format(**values)


def reason_hint(lang: Lang, code: str | None) -> str:
    """What a failed task's ``err_code`` means and what to try, in ``lang``."""
    if not code:
        return say(lang, "failed_no_code")
    hint = HINTS[lang].get(code)
    return say(lang, "failed_code", code=code, hint=hint or say(lang, "failed_unknown_code"))
