"""Every user-facing text, in English and Simplified Chinese, and the one place a problem or error becomes text.

Keys are plain words joined by underscores (a dot would be read as a nested path by the browser's i18n library),
and none is one of Gradio's own top-level translation names (``audio``, ``status``…: a clash shows
"[object Object]"). The page's fixed labels are translated in the browser (``TRANSLATIONS`` feeds ``gr.I18n``);
texts composed at run time are picked on the server with ``say`` in the reader's language (``language_of`` the
request's ``Accept-Language`` on the page; ``cli_language`` of ``--lang``/``LC_ALL``/``LANG`` in the CLI).

``render_problem`` and ``render_error`` are the only functions that turn a ``Problem`` or an error into words:
given the language and who reads (the ``operator`` of the server or CLI, or a ``visitor`` of the page using
their own key) and whether the field's name is shown (the CLI keeps it; the page shows the message at its input).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Literal

from .catalogue import MODELS, MOVEMENT_AMPLITUDES, WM_POSITIONS

Lang = Literal["en", "zh-CN"]
Reader = Literal["operator", "visitor"]
LANGS: tuple[Lang, ...] = ("en", "zh-CN")

EN: dict[str, str] = {
    # --- the page: header, frames, buttons -------------------------------------------------------------------
    "title": "Vidu start–end studio",
    "tagline": "Two frames and a prompt in, one video task out.",
    "mode_demo": "Demo mode: a built-in simulator answers. No real service is called and no credits are spent",
    "mode_server": "Server key: requests use the key configured on the server",
    "mode_visitor": "Your key: paste your own Vidu API key below; it stays in this tab's session only",
    "service": "Service",
    "api_key": "Your Vidu API key",
    "api_key_info": "Used for your requests only; never stored, never shown again",
    "api_key_placeholder": "Paste your key",
    "start_frame": "Start frame",
    "end_frame": "End frame",
    "start_url": "…or start frame image URL",
    "end_url": "…or end frame image URL",
    "url_info": "Used when no file is uploaded",
    "url_placeholder": "https://example.com/frame.jpg",
    "frame_hint": "PNG, JPEG or WebP · up to 50 MB",
    "swap": "⇄ Swap frames",
    "prompt_placeholder": "Describe the motion from the start frame to the end frame…",
    "estimate": "Estimated credits",
    "estimate_info": "An indicative estimate; the response shows the credits actually charged",
    "no_estimate": "No public price for this model",
    "auto_fit": "Auto-fit frames",
    "auto_fit_info": "Fix a pair the service would refuse (size, ratio, format) by resizing or cropping; "
    "every change is listed",
    "more_options": "More options",
    "random_seed": "Random",
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
    "fit_preview_title": "Auto-fit will send these frames",
    "fit_preview_start": "Start frame as sent",
    "fit_preview_end": "End frame as sent",
    "fit_preview_size": "**{after}** (was {before})",
    "fit_preview_unchanged": "**{size}**: sent as it is",
    "fit_preview_no_picture": "(too large to draw here without decoding it twice)",
    "request_preview": "Request preview (cURL · Python)",
    "request_preview_info": "The exact request, ready to run: it reads the two frames from files of the same names "
    "and the key from $VIDU_API_KEY. Press Preview request or Generate to fill it in.",
    "curl": "cURL",
    "python": "Python (httpx)",
    "tab_studio": "Studio",
    "tab_history": "History",
    "examples": "Examples",
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
    "history_pick": "Click a row (on a phone, a card) to select a task.",
    "history_open": "Open",
    "history_reuse": "Reuse settings",
    "col_frames": "Frames",
    "task_link": "[Link to this task]({link})",
    "history_link": "Link",
    "history_batch": "Batch",
    "history_batch_all": "All tasks",
    "history_batch_choice": "{created} · {name} · {jobs} jobs",
    "link_needs_key": "Enter your API key, then press Enter in Look up to open task {task_id}.",
    "seconds_short": "{seconds} s",
    "response_create": "Response to the create call, {time}",
    "response_query": "Latest response from the service, {time}",
    "sign_out": "Sign out",
    "check_key": "Check key",
    "key_ok": "The service accepted this key (nothing was spent).",
    "key_credits_line": "{kind}: {credits} credits left",
    "key_credits_unknown": "The service accepted this key but did not say how many credits are left.",
    "filter_all": "All",
    "filter_unfinished": "Not finished",
    # --- the create request's fields (label and help) ---------------------------------------------------------
    "field_model": "Model",
    "field_model_info": "Duration, resolution and options follow the model",
    "field_prompt": "Prompt",
    "field_prompt_info": "What happens between the frames",
    "field_duration": "Duration (s)",
    "field_duration_info": "Seconds; the choices depend on the model",
    "field_resolution": "Resolution",
    "field_resolution_info": "The choices depend on the model and the duration",
    "field_seed": "Seed",
    "field_seed_info": "0 = random; reuse a seed to reproduce a video",
    "field_movement_amplitude": "Movement amplitude",
    "field_movement_amplitude_info": "How much the camera and subjects move",
    "field_is_rec": "Recommended prompt",
    "field_is_rec_info": "The service writes its own prompt (+10 credits)",
    "field_bgm": "Background music",
    "field_bgm_info": "Add background music",
    "field_audio": "Generate sound",
    "field_audio_info": "Sound made together with the video",
    "field_off_peak": "Off-peak",
    "field_off_peak_info": "Cheaper; may take up to 48 h (cancelled and refunded if not done by then)",
    "field_watermark": "Watermark",
    "field_watermark_info": "Also make a watermarked copy",
    "field_wm_position": "Watermark position",
    "field_wm_position_info": "The corner the watermark sits in",
    "field_wm_url": "Watermark image URL",
    "field_wm_url_info": "Leave empty for the default watermark",
    "field_meta_data": "Metadata (JSON)",
    "field_meta_data_info": 'A JSON object, e.g. {"Label": "my-label"}',
    "field_payload": "Payload",
    "field_payload_info": "Passed through untouched; comes back with the task",
    "field_callback_url": "Callback URL",
    "field_callback_url_info": "An http(s) address that receives status updates",
    # --- a task's state and what the page says about it ---------------------------------------------------------
    "state_created": "Created",
    "state_queueing": "Queueing",
    "state_processing": "Processing",
    "state_success": "Succeeded",
    "state_failed": "Failed",
    "state_cancelled": "Cancelled",
    "state_other": "Still running (service says: {state})",
    "progress": "{progress}% done",
    "account_queue": "{running} of {limit} running on this account",
    "account_queue_running": "{running} running on this account",
    "account_queue_limit": "at most {limit} run at once on this account",
    "account_queue_waiting": "{count} queued",
    "account_queue_both": "{first}, {second}",
    "blocked": "Blocked by moderation: {what}",
    "blocked_item": "{kind} #{index}",
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
    "failed_code": "Reason: `{code}`. {hint}",
    "failed_unknown_code": "The service gave a reason this app does not know; try again, or ask the provider "
    "quoting the task ID.",
    "failed_no_code": "The service gave no reason; try again, or ask the provider quoting the task ID.",
    "cancelled_note": "The task was cancelled; its credits are refunded.",
    "problem": "⚠ {problem}",
    "cancel_sent": "Cancel sent for task {task_id}; the state below changes once the service confirms.",
    "cancel_refused": "The service did not cancel task {task_id}",
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
    "selected": "**{task_id}** · {created} · {model} · {state}",
    "busy": "A request from this page is already being sent; wait for its answer.",
    "warning": "Warning: {text}",
    # --- errors: titles and the lines around them ---------------------------------------------------------------
    "title_invalid": "Nothing was sent",
    "title_unknown": "Outcome unknown",
    "title_refused": "The service refused the request",
    "title_unreachable": "The service could not be reached",
    "error_status": "HTTP {status}",
    "error_trace": "trace id {trace_id}",
    "what_to_do": "What to do: {hint}",
    "unknown_outcome_advice": "The task may exist and may be billed: do NOT resubmit blindly.",
    "nothing_sent": "nothing was sent.",
    # --- problems with what a person entered ----------------------------------------------------------------------
    "problem_required": "is required",
    "problem_prompt_required": "is required: describe the motion from the start frame to the end frame",
    "problem_too_long": "is {length:,} characters long; at most {limit:,} are accepted",
    "problem_control_chars": "contains control characters ({chars}); remove them",
    "problem_surrogates": "contains characters that are not valid text (a lone surrogate such as {chars}); remove them",
    "problem_unknown_model": "'{value}' is not a known model; choose one of {choices}",
    "problem_not_whole": "'{value}' is not a whole number",
    "problem_duration": "{value} s is not offered by {model}; choose {choices}",
    "problem_resolution": "'{value}' is not offered by {model} at {duration} s; choose {choices}",
    "problem_range": "'{value}' is not accepted; give a whole number from {low} to {high}",
    "problem_choice": "'{value}' is not accepted; choose {choices}",
    "problem_bool": "'{value}' is not accepted; give true or false",
    "problem_not_for_model": "has no effect on {model}; it applies to {models}",
    "problem_no_sound": "{model} makes no sound; audio applies to {models}",
    "problem_needs_watermark": "applies only when watermark is on; turn the watermark on or leave it unset",
    "problem_not_text": "is {kind}, not text; give it as a string",
    "problem_json_invalid": "is not valid JSON ({detail} at character {position}); give a JSON object such as "
    '{{"Label": "my-label"}}',
    "problem_json_not_object": 'is JSON {kind}, not an object; give a JSON object such as {{"Label": "my-label"}}',
    "problem_json_too_deep": "is nested more than {limit} levels deep; give a flat JSON object",
    "problem_url_long": "is {length:,} characters long; at most {limit:,} are accepted",
    "problem_url_spaces": "contains spaces or control characters; give an http:// or https:// address",
    "problem_url_invalid": "is not a valid URL; give an http:// or https:// address such as https://example.com/hook",
    "problem_url_scheme": "has {scheme}; only an http:// or https:// address is accepted",
    "problem_url_no_scheme": "no scheme",
    "problem_url_host": "has no host name; give an http:// or https:// address",
    "problem_url_credentials": "contains a user name or password; remove the credentials from the URL",
    "problem_url_port": "has the port {port}; a port is a number from 0 to 65535",
    "problem_frame_url": "is not an http:// or https:// URL; give the image's web address or upload the file",
    "problem_task_id": "'{value}' is not a task id: give 1–128 letters, digits, '_', '.' or '-', "
    "such as 911088422699962368",
    "problem_state": "'{value}' is not one of {choices}",
    "problem_page_size": "must be between 1 and {limit}",
    "problem_no_key_visitor": "no API key: paste your Vidu API key",
    "problem_no_key_operator": "no API key: set VIDU_API_KEY or paste your key",
    "problem_key_chars": "the key contains spaces, line breaks or non-ASCII characters; paste it again",
    # --- the frames (frames.py): a refused frame, a refused pair, what a frame is -----------------------------
    "problem_frame_missing": "is missing: choose a PNG, JPEG or WebP image file or give an http(s) URL",
    "problem_frame_scheme": "uses the '{scheme}:' scheme; give a PNG, JPEG or WebP image file or an http:// or "
    "https:// URL",
    "problem_frame_data_uri": "is a data: URI; give the image file itself (the app builds the data URI) or an "
    "http(s) URL",
    "problem_frame_file_url": "is a file: URL; give the file's path instead, or upload the file",
    "problem_frame_url_chars": "is a URL with spaces, quotes or non-ASCII characters; percent-encode them (%20 …)",
    "problem_frame_folder": "is a folder, not an image file: {path}",
    "problem_frame_not_file": "is not a regular file: {path}",
    "problem_frame_not_found": "was not found: {path}",
    "problem_frame_unreadable": "cannot be read ({error}): {path}",
    "problem_frame_empty": "is an empty file (0 bytes): {name}; choose a PNG, JPEG or WebP image",
    "problem_frame_too_big": "is {size} ({n_bytes:,} bytes); at most {limit} ({limit_bytes:,} bytes) per image is "
    "accepted: save it smaller",
    "problem_frame_not_image": "is {what}; only PNG, JPEG and WebP are accepted: convert it to one of those",
    "problem_frame_not_image_named": "is {what}, whatever its name ({suffix}) says; only PNG, JPEG and WebP are "
    "accepted: convert it to one of those",
    "problem_frame_pixels": "is {width}×{height}, {megapixels:,.0f} megapixels; at most {limit:,.0f} megapixels are "
    "accepted (VIDU_UI_MAX_MEGAPIXELS: larger pictures can exhaust memory): scale it down",
    "problem_frame_damaged": "is a damaged {kind} file ({damage}); export or download it again",
    "problem_frame_bomb": "is a {kind} file too large to decode safely ({detail}); scale it down first",
    "problem_frame_truncated": "is a truncated {kind} file: it ends before the picture does; export or download it "
    "again",
    "problem_frame_undecodable": "is a damaged {kind} file that cannot be decoded ({detail}); export it again as a "
    "PNG, JPEG or WebP image",
    "problem_frame_aspect": "is {width}×{height}, an aspect ratio of {shape}; it must be between 1:4 and 4:1: crop it",
    "problem_frame_animated": "is an animated {kind} ({count} frames); only still images are accepted: auto-fit "
    "would use its first frame",
    "problem_pair_aspect": "is {end_width}×{end_height} (aspect {end_aspect}) against the start frame's "
    "{start_width}×{start_height} (aspect {start_aspect}): start ÷ end aspect ratio {ratio}, and 0.80–1.25 is "
    "accepted; turn on auto-fit, or crop the end frame to the start frame's shape",
    "problem_pair_pixels": "is {end_width}×{end_height} ({end_mp} MP) against the start frame's "
    "{start_width}×{start_height} ({start_mp} MP): start ÷ end resolution ratio {ratio}, and 0.80–1.25 is "
    "accepted; turn on auto-fit, or resize the larger frame toward the other's size",
    "problem_body_too_large": "the request would be {size}, {over} over the service's {limit} limit (images travel "
    "as base64, a third larger); turn on auto-fit or use smaller frames",
    "frame_kind_avif": "an AVIF image",
    "frame_kind_heic": "a HEIC/HEIF photo or an MP4-family video",
    "frame_kind_pdf": "a PDF document",
    "frame_kind_zip": "a ZIP archive",
    "frame_kind_svg": "an SVG drawing (text, not a picture)",
    "frame_kind_html": "a web page (HTML)",
    "frame_kind_xml": "an XML text file",
    "frame_kind_other": "an image in the {name} format",
    "frame_kind_unknown": "not an image this app recognises",
    "frame_kind_text": "a text file",
    "frame_damage_checksum": "bad checksum in its {chunk} chunk",
    "frame_damage_truncated": "truncated: it ends before the picture does",
    "frame_damage_data_long": "its image data is longer than the picture",
    "frame_damage_inflate": "its image data cannot be decompressed ({error})",
    "frame_damage_data_short": "truncated: its image data ends before the picture does",
    "frame_damage_no_picture": "it holds no picture",
    "frame_summary_url": "URL · {host} · downloaded by the service",
    "frame_summary_animated": "animated, {count} frames",
    "check_ok": "ok: {start} → {end}; request body {size:,} bytes",
    # --- auto-fit (autofit.py): what it changed, each naming its frame -----------------------------------------
    "fit_cropped": "{frame}: centre-cropped {before} → {after} to the start frame's aspect ratio ({aspect})",
    "fit_reduced": "{frame}: reduced {before} → {after} ({megapixels} MP), toward the other frame and the "
    "{resolution} video's {need} MP",
    "fit_enlarged": "{frame}: enlarged {before} → {after} ({megapixels} MP) to bring the pair's pixel counts "
    "together; never beyond the {resolution} video's {need} MP",
    "fit_first_frame": "{frame}: kept the first of its {count} frames (only still images are accepted)",
    "fit_cmyk_profile": "{frame}: converted CMYK → RGB with its embedded colour profile",
    "fit_cmyk_plain": "{frame}: converted CMYK → RGB (no usable colour profile embedded: plain conversion)",
    "fit_grey16": "{frame}: converted 16-bit grey → 8-bit",
    "fit_upright": "{frame}: turned upright (EXIF orientation {orientation})",
    "fit_downscaled": "{frame}: downscaled {before} → {after} to fit the request's size limit",
    "fit_reencoded": "{frame}: re-encoded {format} {size} → {target}, {new_size}",
    "fit_reencoded_kept": "{frame}: re-encoded {format} {size} → {target}, {new_size}, full resolution {after} kept",
    "fit_target": "{format}",
    "fit_target_quality": "{format} quality {quality}",
    "fit_target_alpha": "{target} with its transparency",
    "fit_total": "The two images now take {size} of the request (as base64 text); it had room for {room}.",
    "problem_fit_no_room": "cannot fit in the request ({room:,} bytes left for images): the other fields leave no "
    "room for images; give the frames as http(s) URLs instead, or shorten the prompt and payload",
    "problem_fit_too_large": "cannot fit in the request ({room:,} bytes left for images): even downscaled to "
    "{width}×{height} the frames would take about {need:,} bytes; give the frames as http(s) URLs instead, or "
    "shorten the prompt and payload",
    "warning_off_peak": "relays document off-peak only for {models} with sound on; the service may refuse it or "
    "run the task at the normal price",
    # --- what a reason (an error's or a failed task's) means and what to do -------------------------------------------
    "hint_BadRequest": "The service refused the request as malformed; check the options and try again.",
    "hint_FieldLacking": "A required field is missing; fill it in and try again.",
    "hint_FieldUnwanted": "The service does not accept one of the fields sent; leave that option at its default.",
    "hint_FieldInvalid": "A field has a value the service does not accept; correct it and try again.",
    "hint_FieldItemCountOutOfRange": "Send exactly two images: the start frame and the end frame.",
    "hint_PageSizeOutOfRange": "An image's size, format or ratio is out of range; try with auto-fit on.",
    "hint_PageSizeOutOfRange_auto_fit": "The service found an image's size or ratio out of range although auto-fit "
    "prepared the frames; crop both frames to the same shape, or give them as http(s) URLs.",
    "hint_ImageDownloadFailure": "The service could not download an image URL; make sure it is public, or upload "
    "the file.",
    "hint_ImageFormatInvalid": "An image is not PNG, JPEG or WebP; convert it and try again.",
    "hint_ImageCheckBodyJointsFailed": "The service could not find a person's body joints in a frame; use frames "
    "where the subject's body is clearly visible.",
    "hint_ImageCheckFaceFailed": "The service could not check a face in a frame; use frames with a clear, "
    "unobstructed face, or none.",
    "hint_ImageObjectsUndetected": "The service found no subject in a frame; use frames with a clear main subject.",
    "hint_OperationInProcess": "The task is busy with another operation; wait a moment and try again.",
    "hint_CreditInsufficient": "The account has too few credits; top up, or choose a shorter or lower-resolution "
    "video.",
    "hint_TaskPromptPolicyViolation": "The prompt was refused by the content policy; rephrase it.",
    "hint_CreationPolicyViolation": "The result was refused by the content policy; change the frames or the prompt.",
    "hint_AuditSubmitIllegal": "The input was refused by the content review; change the frames or the prompt.",
    "hint_ModelUnavailable": "That model is not available to this account now; choose another model.",
    "hint_UserCancelled": "The task was cancelled; its credits are refunded.",
    "hint_Unauthorized": "The API key was refused; check VIDU_API_KEY and the auth scheme "
    "(Bearer for kkiai, Token for Vidu's own hosts).",
    "hint_Unauthorized_visitor": "Your API key was refused; check the key you pasted (the whole key, nothing more).",
    "hint_Forbidden": "The key may not do this; check the account's permissions.",
    "hint_TaskNotFound": "No task has that id for this key; check the id and the base URL.",
    "hint_TaskNotFound_visitor": "No task has that id for your key; check the id.",
    "hint_CreationNotFound": "The task has no result yet; query it again later.",
    "hint_NotFound": "The service has no such path; check VIDU_BASE_URL and the path settings.",
    "hint_NotFound_visitor": "The service has no such path; tell the operator of this page.",
    "hint_Conflict": "The request conflicts with the task's state; query the task and try again.",
    "hint_QuotaExceeded": "Too many tasks are running; wait for one to finish and try again.",
    "hint_TooManyRequests": "Too many requests; wait a moment and try again.",
    "hint_SystemThrottling": "The service is busy; wait a moment and try again.",
    "hint_Canceled": "The service cancelled the request; try again.",
    "hint_InternalServiceFailure": "The service failed; try again later.",
    "hint_cancel_scheduled": "The task is already scheduled: only a created or queueing task can be cancelled; "
    "it will finish (and be billed) as usual.",
    "hint_status_400": "The service refused the request; check the options and try again.",
    "hint_status_5xx": "The service failed; try again later.",
    "hint_other": "Check the request and try again.",
    "hint_connection": "Check the network and VIDU_BASE_URL, then try again.",
    "hint_connection_visitor": "The service could not be reached; try again later.",
    "hint_timeout": "The service did not answer in time; try again later or raise the timeout.",
    "hint_timeout_visitor": "The service did not answer in time; try again later.",
    "hint_response": "Check VIDU_BASE_URL points at a Vidu-compatible service.",
    "hint_response_visitor": "The service answered in a form this page cannot read; tell the operator of this page.",
    "hint_unknown_outcome": "Do not resubmit straight away: look for the task in the service's task list "
    "(`python -m vidu_ui tasks`) or your account before trying again.",
    "hint_unknown_outcome_visitor": "Do not resubmit straight away: look for the task in your account (or the "
    "History tab) before trying again.",
    "hint_try_later": "Try again later.",
    # --- a create without an answer, settled from the service's task list (reconcile.py) --------------------------
    "checking_created": "checking whether the task was created…",
    "settled_created": "the task was created: {task_id}",
    "settled_not_created": "the task was not created; nothing was charged",
    "settled_needs_look": "several tasks could be this one ({ids}): look at them before resubmitting",
    "settled_needs_key": "the task was sent with a visitor's own key: it is settled when that key is given again",
    "settled_pending": "not settled yet: the service's task list may not show it yet; try again in a minute",
    "title_not_created": "Not created",
    "hint_not_created": "Send it again when you are ready.",
    "hint_unsettled": "Do not resubmit: `python -m vidu_ui reconcile` settles it from the service's task list "
    "(the app does so too, every minute).",
    "hint_unsettled_visitor": "Do not resubmit: the app keeps looking for the task in the service's task list; "
    "open the History tab in a minute.",
    # --- a download the app refused (downloads.DownloadRefused: ``download_<reason>``) ----------------------------
    "title_download_refused": "The video was not downloaded",
    "download_refused": "the download from {host} was refused: {detail}",
    "download_not_url": "not a URL ({error})",
    "download_scheme": "a {scheme} address; only https is accepted",
    "download_no_host": "a URL without a host, or with a user name in it",
    "download_unresolved": "the host name does not resolve ({error})",
    "download_bad_address": "an unreadable address ({address})",
    "download_address": "it points at a {kind} address ({address})",
    "download_status": "the server answered HTTP {status}",
    "download_redirects": "more than {limit} redirects",
    "download_too_large": "larger than {megabytes} MB (VIDU_UI_MAX_VIDEO_MB)",
    "download_not_video": "the answer is not an MP4, MOV or WebM video",
    "download_not_image": "the answer is not a PNG, JPEG or WebP image",
    "hint_download_refused": "Nothing was kept. Query the task again for a fresh link (`python -m vidu_ui status "
    "<task id>`, or open it from History); if the service keeps naming such a link, ask the provider.",
    "hint_download_refused_visitor": "Nothing was kept. Open the task from History again for a fresh link; if it "
    "keeps failing, tell the operator of this page.",
    # --- batches (batch.py; the CLI's ``batch`` and the page's Batch tab) ------------------------------------------
    "batch_checks_ok": "ok",
    "batch_total": "{jobs} job(s), {ready} ready to send; total {credits} credits (an estimate: the service bills "
    "the real amount)",
    "batch_unpriced": "{count} job(s) have no public price and are not counted.",
    "batch_manifest_at": "line {line}, column {column}: {problem}",
    "batch_manifest_unreadable": "the manifest cannot be read ({error})",
    "batch_manifest_not_json": "not a JSON object ({error})",
    "batch_manifest_extra_values": "more values than the header has columns",
    "batch_manifest_unknown_column": "not a column of a batch manifest; the columns are: {columns}",
    "batch_manifest_missing_column": "the header lacks this required column",
    "batch_manifest_missing_value": "is required",
    "batch_manifest_not_text": "must be a file path or an http(s) URL",
    "batch_manifest_empty": "the manifest has no jobs",
    "batch_job_invalid": "{job}: not sent: {problems}",
    "batch_job_refused": "{job}: refused: {error}",
    "batch_job_created": "{job}: created task {task_id}",
    "batch_job_later": "{job}: the service is busy (nothing was created or charged); trying again within {seconds} s",
    "batch_dry_run": "dry run: nothing was sent",
    "batch_running": "sending {jobs} job(s), at most {count} open at once",
    "batch_summary": "{success} succeeded, {failed} failed or not sent, {unknown} outcome unknown, {running} not "
    "finished yet",
    "batch_video": "{job}: video saved: {path}",
    "batch_no_video": "{job}: the task succeeded but its video was not saved: {note}",
    "tab_batch": "Batch",
    "batch_mode": "Build the plan from",
    "batch_mode_prompts": "One pair, several prompts",
    "batch_mode_storyboard": "A storyboard (frames in order)",
    "batch_mode_pairs": "Many pairs (by file name or order)",
    "batch_files": "Frames: a storyboard's, or pairs (shot1_start.png, shot1_end.png…)",
    "batch_loop": "Loop",
    "batch_loop_info": "One pair: the end frame is the start frame; a storyboard: a last shot back to the first frame",
    "batch_prompts": "Prompts",
    "batch_prompts_info": "One per line; for a storyboard or pairs, line i is shot i's (the last line for the rest)",
    "batch_models": "Models",
    "batch_seeds": "Seeds per prompt",
    "batch_first_seed": "First seed",
    "batch_plan": "Plan",
    "batch_jobs": "Jobs",
    "batch_run": "Run",
    "batch_cancel": "Cancel all",
    "batch_download": "Download all (zip)",
    "batch_results": "Results",
    "batch_archive": "Videos and manifest",
    "batch_col_job": "#",
    "batch_col_label": "Shot",
    "batch_col_model": "Model",
    "batch_col_seed": "Seed",
    "batch_col_prompt": "Prompt",
    "batch_col_estimate": "Credits (est.)",
    "batch_col_checks": "Checks / state",
    "batch_need_prompt": "Write at least one prompt.",
    "batch_need_model": "Choose at least one model.",
    "batch_need_pair": "Add a start and an end frame (or turn on Loop).",
    "batch_need_files": "Upload the frames: at least two.",
    "batch_too_many": "That plan has more than {limit} jobs; use the command line's `batch` for larger ones.",
    "batch_plan_first": "Build a plan first.",
    "batch_server_key": "Batches run with the server's key; this page uses each visitor's own key.",
    "batch_cancelled": "Cancel all: jobs not sent are held; {count} task(s) asked to cancel.",
    "batch_outcome_waiting": "waiting",
    "batch_outcome_sending": "sending",
    "batch_outcome_running": "running",
    "batch_outcome_success": "succeeded",
    "batch_outcome_failed": "failed",
    "batch_outcome_unknown": "outcome unknown",
    "batch_outcome_held": "not sent",
    "batch_cancel_job": "Cancel job",
    "batch_retry_job": "Retry job",
    "batch_reuse_job": "Reuse settings",
    "batch_pick": "Select a job in the table to cancel, retry or reuse it.",
    "batch_selected": "Job {job}: {state}",
    "batch_job_dropped": "{job}: dropped from the run (never sent: nothing was created or charged).",
    "batch_job_cancel_asked": "{job}: the service was asked to cancel task {task_id}.",
    "batch_job_retried": "{job}: it will be sent again.",
    "batch_reuse_done": "The settings of job {job} are in the form.",
    "batch_cannot_cancel_sending": "{job}: it is being sent right now; cancel it once its task is created.",
    "batch_cannot_cancel_started": "{job}: its task is already processing; the service cancels a task only while it "
    "is created or queueing.",
    "batch_cannot_cancel_unknown": "{job}: whether its task was created is not known yet, so there is nothing to "
    "cancel until that is settled.",
    "batch_cannot_cancel_ended": "{job}: it has already ended (or was never sent).",
    "batch_cannot_retry_succeeded": "{job}: it succeeded; use Reuse settings to make a variation.",
    "batch_cannot_retry_waiting": "{job}: it has not been sent yet; Run sends it.",
    "batch_cannot_retry_open": "{job}: its task is still running and may be billed; only a job never created or "
    "definitely failed is retried.",
    "batch_cannot_retry_unknown": "{job}: whether its task was created is not known, and a task may exist and be "
    "billed; it is not retried (reconciliation sends it again only when it finds that none was created).",
    "batch_cannot_retry_sending": "{job}: it is being sent right now.",
}

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
    "start_frame": "首帧",
    "end_frame": "尾帧",
    "start_url": "…或首帧图片 URL",
    "end_url": "…或尾帧图片 URL",
    "url_info": "未上传文件时使用",
    "url_placeholder": "https://example.com/frame.jpg",
    "frame_hint": "PNG、JPEG 或 WebP · 不超过 50 MB",
    "swap": "⇄ 交换首尾帧",
    "prompt_placeholder": "描述从首帧到尾帧的运动变化…",
    "estimate": "预估积分",
    "estimate_info": "仅为参考估算；实际扣除的积分以响应为准",
    "no_estimate": "该模型暂无公开价格",
    "auto_fit": "自动适配画面",
    "auto_fit_info": "当服务会拒绝这对画面（尺寸、比例、格式）时，通过缩放或裁剪修正；所有改动都会列出",
    "more_options": "更多选项",
    "random_seed": "随机",
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
    "fit_preview_title": "自动适配后将发送这两帧",
    "fit_preview_start": "将发送的首帧",
    "fit_preview_end": "将发送的尾帧",
    "fit_preview_size": "**{after}**（原为 {before}）",
    "fit_preview_unchanged": "**{size}**：按原样发送",
    "fit_preview_no_picture": "（图片过大，为避免重复解码，此处不绘制）",
    "request_preview": "请求预览（cURL · Python）",
    "request_preview_info": "完整的请求，可直接运行：从同名文件读取两帧图片，密钥取自 $VIDU_API_KEY。"
    "点击“预览请求”或“生成”后显示。",
    "curl": "cURL",
    "python": "Python (httpx)",
    "tab_studio": "工作室",
    "tab_history": "历史记录",
    "examples": "示例",
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
    "history_pick": "点击一行（手机上点击一张卡片）以选择任务。",
    "history_open": "打开",
    "history_reuse": "复用设置",
    "col_frames": "画面",
    "task_link": "[此任务的链接]({link})",
    "history_link": "链接",
    "history_batch": "批量",
    "history_batch_all": "全部任务",
    "history_batch_choice": "{created} · {name} · {jobs} 个任务",
    "link_needs_key": "请先输入你的 API 密钥，然后在“查询任务”中按回车打开任务 {task_id}。",
    "seconds_short": "{seconds} 秒",
    "response_create": "创建请求的响应，{time}",
    "response_query": "服务的最新响应，{time}",
    "sign_out": "退出登录",
    "check_key": "检查密钥",
    "key_ok": "服务接受了此密钥（未消耗积分）。",
    "key_credits_line": "{kind}：剩余 {credits} 积分",
    "key_credits_unknown": "服务接受了此密钥，但没有说明剩余积分。",
    "filter_all": "全部",
    "filter_unfinished": "未完成",
    "field_model": "模型",
    "field_model_info": "时长、分辨率和可用选项随模型变化",
    "field_prompt": "提示词",
    "field_prompt_info": "首尾帧之间发生的变化",
    "field_duration": "时长（秒）",
    "field_duration_info": "秒数；可选值取决于模型",
    "field_resolution": "分辨率",
    "field_resolution_info": "可选值取决于模型和时长",
    "field_seed": "随机种子",
    "field_seed_info": "0 = 随机；使用相同种子可复现视频",
    "field_movement_amplitude": "运动幅度",
    "field_movement_amplitude_info": "镜头与主体的运动程度",
    "field_is_rec": "推荐提示词",
    "field_is_rec_info": "由服务自动撰写提示词（+10 积分）",
    "field_bgm": "背景音乐",
    "field_bgm_info": "添加背景音乐",
    "field_audio": "生成音频",
    "field_audio_info": "与视频一同生成声音",
    "field_off_peak": "错峰生成",
    "field_off_peak_info": "更便宜；最长可能需要 48 小时（届时未完成则取消并退还积分）",
    "field_watermark": "水印",
    "field_watermark_info": "另外生成一份带水印的视频",
    "field_wm_position": "水印位置",
    "field_wm_position_info": "水印所在的角落",
    "field_wm_url": "水印图片 URL",
    "field_wm_url_info": "留空则使用默认水印",
    "field_meta_data": "元数据（JSON）",
    "field_meta_data_info": 'JSON 对象，例如 {"Label": "my-label"}',
    "field_payload": "透传参数",
    "field_payload_info": "原样透传，随任务一并返回",
    "field_callback_url": "回调地址",
    "field_callback_url_info": "接收状态更新的 http(s) 地址",
    "state_created": "已创建",
    "state_queueing": "排队中",
    "state_processing": "生成中",
    "state_success": "已完成",
    "state_failed": "失败",
    "state_cancelled": "已取消",
    "state_other": "仍在进行（服务返回：{state}）",
    "progress": "已完成 {progress}%",
    "account_queue": "本账号正在运行 {running} 个（上限 {limit} 个）",
    "account_queue_running": "本账号正在运行 {running} 个",
    "account_queue_limit": "本账号最多同时运行 {limit} 个",
    "account_queue_waiting": "{count} 个排队中",
    "account_queue_both": "{first}，{second}",
    "blocked": "被内容审核拦截：{what}",
    "blocked_item": "{kind} #{index}",
    "elapsed": "已提交 {seconds} 秒",
    "following": "应用会持续跟踪该任务并在此显示每次变化；你可以离开，稍后在“历史记录”中打开。",
    "not_followed": "应用当前没有跟踪该任务。",
    "saving_video": "正在把视频保存到本服务器…",
    "video_local": "已保存在本服务器：服务的链接过期后仍可播放。",
    "video_remote": "正在通过服务的链接播放，链接在获取后约 24 小时内有效。",
    "video_not_kept": "本服务器不保存视频（VIDU_UI_KEEP_VIDEOS=0）：请在链接有效期内下载。",
    "video_expired": "服务的链接已过期：请在“历史记录”中打开该任务以获取新链接。",
    "open_at_service": "[在服务上打开视频]({url})",
    "failed_code": "原因：`{code}`。{hint}",
    "failed_unknown_code": "服务返回了本应用不认识的原因；请重试，或附上任务 ID 咨询服务商。",
    "failed_no_code": "服务没有给出原因；请重试，或附上任务 ID 咨询服务商。",
    "cancelled_note": "任务已取消；积分会退还。",
    "problem": "⚠ {problem}",
    "cancel_sent": "已为任务 {task_id} 发送取消请求；服务确认后下方状态会更新。",
    "cancel_refused": "服务未能取消任务 {task_id}",
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
    "selected": "**{task_id}** · {created} · {model} · {state}",
    "busy": "本页面的请求正在发送中；请等待它的响应。",
    "warning": "注意：{text}",
    "title_invalid": "未发送任何内容",
    "title_unknown": "结果未知",
    "title_refused": "服务拒绝了请求",
    "title_unreachable": "无法连接服务",
    "error_status": "HTTP {status}",
    "error_trace": "跟踪 ID {trace_id}",
    "what_to_do": "处理建议：{hint}",
    "unknown_outcome_advice": "任务可能已经创建并计费：请不要盲目重新提交。",
    "nothing_sent": "未发送任何内容。",
    "problem_required": "为必填项",
    "problem_prompt_required": "为必填项：请描述从首帧到尾帧的运动变化",
    "problem_too_long": "长度为 {length:,} 个字符；最多接受 {limit:,} 个",
    "problem_control_chars": "包含控制字符（{chars}）；请删除",
    "problem_surrogates": "包含不是有效文本的字符（单独的代理码位，例如 {chars}）；请删除",
    "problem_unknown_model": "“{value}”不是已知模型；请从以下选择：{choices}",
    "problem_not_whole": "“{value}”不是整数",
    "problem_duration": "{model} 不提供 {value} 秒；请选择 {choices}",
    "problem_resolution": "{model} 在 {duration} 秒时不提供“{value}”；请选择 {choices}",
    "problem_range": "“{value}”不被接受；请填写 {low} 到 {high} 之间的整数",
    "problem_choice": "“{value}”不被接受；请选择 {choices}",
    "problem_bool": "“{value}”不被接受；请填写 true 或 false",
    "problem_not_for_model": "对 {model} 无效；仅适用于 {models}",
    "problem_no_sound": "{model} 不生成声音；音频仅适用于 {models}",
    "problem_needs_watermark": "仅在开启水印时有效；请开启水印或不填写",
    "problem_not_text": "是{kind}，不是文本；请以字符串形式填写",
    "problem_json_invalid": "不是有效的 JSON（{detail}，位于第 {position} 个字符）；请填写 JSON 对象，例如 "
    '{{"Label": "my-label"}}',
    "problem_json_not_object": '是 JSON {kind}，不是对象；请填写 JSON 对象，例如 {{"Label": "my-label"}}',
    "problem_json_too_deep": "嵌套超过 {limit} 层；请填写扁平的 JSON 对象",
    "problem_url_long": "长度为 {length:,} 个字符；最多接受 {limit:,} 个",
    "problem_url_spaces": "包含空格或控制字符；请填写 http:// 或 https:// 地址",
    "problem_url_invalid": "不是有效的 URL；请填写 http:// 或 https:// 地址，例如 https://example.com/hook",
    "problem_url_scheme": "使用了 {scheme}；只接受 http:// 或 https:// 地址",
    "problem_url_no_scheme": "没有协议",
    "problem_url_host": "没有主机名；请填写 http:// 或 https:// 地址",
    "problem_url_credentials": "包含用户名或密码；请从 URL 中删除",
    "problem_url_port": "端口为 {port}；端口是 0 到 65535 之间的数字",
    "problem_frame_url": "不是 http:// 或 https:// URL；请填写图片的网址或上传文件",
    "problem_task_id": "“{value}”不是任务 ID：应为 1–128 个字母、数字、“_”、“.”或“-”，例如 911088422699962368",
    "problem_state": "“{value}”不是以下之一：{choices}",
    "problem_page_size": "必须在 1 到 {limit} 之间",
    "problem_no_key_visitor": "没有 API 密钥：请粘贴你的 Vidu API 密钥",
    "problem_no_key_operator": "没有 API 密钥：请设置 VIDU_API_KEY 或粘贴密钥",
    "problem_key_chars": "密钥包含空格、换行或非 ASCII 字符；请重新粘贴",
    "problem_frame_missing": "缺失：请选择 PNG、JPEG 或 WebP 图片文件，或填写 http(s) URL",
    "problem_frame_scheme": "使用了“{scheme}:”协议；请提供 PNG、JPEG 或 WebP 图片文件，或 http:// 或 https:// URL",
    "problem_frame_data_uri": "是 data: URI；请直接提供图片文件（应用会生成 data URI），或 http(s) URL",
    "problem_frame_file_url": "是 file: URL；请改为填写文件路径，或上传文件",
    "problem_frame_url_chars": "是包含空格、引号或非 ASCII 字符的 URL；请对它们进行百分号编码（%20 …）",
    "problem_frame_folder": "是文件夹，不是图片文件：{path}",
    "problem_frame_not_file": "不是普通文件：{path}",
    "problem_frame_not_found": "找不到：{path}",
    "problem_frame_unreadable": "无法读取（{error}）：{path}",
    "problem_frame_empty": "是空文件（0 字节）：{name}；请选择 PNG、JPEG 或 WebP 图片",
    "problem_frame_too_big": "大小为 {size}（{n_bytes:,} 字节）；每张图片最多接受 {limit}（{limit_bytes:,} 字节）："
    "请保存为更小的文件",
    "problem_frame_not_image": "是{what}；只接受 PNG、JPEG 和 WebP：请转换为其中一种格式",
    "problem_frame_not_image_named": "是{what}，不论文件名（{suffix}）如何；只接受 PNG、JPEG 和 WebP："
    "请转换为其中一种格式",
    "problem_frame_pixels": "尺寸为 {width}×{height}，{megapixels:,.0f} 百万像素；最多接受 {limit:,.0f} 百万像素"
    "（VIDU_UI_MAX_MEGAPIXELS：更大的图片可能耗尽内存）：请缩小",
    "problem_frame_damaged": "是损坏的 {kind} 文件（{damage}）；请重新导出或下载",
    "problem_frame_bomb": "是过大、无法安全解码的 {kind} 文件（{detail}）；请先缩小",
    "problem_frame_truncated": "是不完整的 {kind} 文件：文件在画面结束前就结束了；请重新导出或下载",
    "problem_frame_undecodable": "是无法解码的损坏 {kind} 文件（{detail}）；请重新导出为 PNG、JPEG 或 WebP 图片",
    "problem_frame_aspect": "尺寸为 {width}×{height}，宽高比 {shape}；宽高比必须在 1:4 到 4:1 之间：请裁剪",
    "problem_frame_animated": "是动态 {kind}（{count} 帧）；只接受静态图片：自动适配会使用它的第一帧",
    "problem_pair_aspect": "为 {end_width}×{end_height}（宽高比 {end_aspect}），首帧为 {start_width}×{start_height}"
    "（宽高比 {start_aspect}）：首帧 ÷ 尾帧的宽高比之比为 {ratio}，只接受 0.80–1.25；请开启“自动适配画面”，"
    "或把尾帧裁剪成首帧的形状",
    "problem_pair_pixels": "为 {end_width}×{end_height}（{end_mp} 百万像素），首帧为 {start_width}×{start_height}"
    "（{start_mp} 百万像素）：首帧 ÷ 尾帧的像素数之比为 {ratio}，只接受 0.80–1.25；请开启“自动适配画面”，"
    "或把较大的一帧缩小到接近另一帧的尺寸",
    "problem_body_too_large": "请求将达到 {size}，超出服务 {limit} 的上限 {over}（图片以 base64 传输，会大三分之一）；"
    "请开启“自动适配画面”或使用更小的画面",
    "frame_kind_avif": "AVIF 图片",
    "frame_kind_heic": "HEIC/HEIF 照片或 MP4 类视频",
    "frame_kind_pdf": "PDF 文档",
    "frame_kind_zip": "ZIP 压缩包",
    "frame_kind_svg": "SVG 矢量图（文本，不是图片）",
    "frame_kind_html": "网页（HTML）",
    "frame_kind_xml": "XML 文本文件",
    "frame_kind_other": "{name} 格式的图片",
    "frame_kind_unknown": "本应用无法识别的文件",
    "frame_kind_text": "文本文件",
    "frame_damage_checksum": "{chunk} 数据块校验和错误",
    "frame_damage_truncated": "不完整：文件在画面结束前就结束了",
    "frame_damage_data_long": "图像数据比画面更长",
    "frame_damage_inflate": "图像数据无法解压（{error}）",
    "frame_damage_data_short": "不完整：图像数据在画面结束前就结束了",
    "frame_damage_no_picture": "不包含画面",
    "frame_summary_url": "URL · {host} · 由服务下载",
    "frame_summary_animated": "动态图，{count} 帧",
    "check_ok": "通过：{start} → {end}；请求体 {size:,} 字节",
    "fit_cropped": "{frame}：居中裁剪 {before} → {after}，与首帧的宽高比（{aspect}）一致",
    "fit_reduced": "{frame}：缩小 {before} → {after}（{megapixels} 百万像素），接近另一帧和 {resolution} "
    "视频所需的 {need} 百万像素",
    "fit_enlarged": "{frame}：放大 {before} → {after}（{megapixels} 百万像素），使两帧像素数接近；"
    "不超过 {resolution} 视频所需的 {need} 百万像素",
    "fit_first_frame": "{frame}：保留了 {count} 帧中的第一帧（只接受静态图片）",
    "fit_cmyk_profile": "{frame}：已按内嵌色彩配置文件把 CMYK 转为 RGB",
    "fit_cmyk_plain": "{frame}：已把 CMYK 转为 RGB（没有可用的内嵌色彩配置文件：直接转换）",
    "fit_grey16": "{frame}：已把 16 位灰度转为 8 位",
    "fit_upright": "{frame}：已按 EXIF 方向（{orientation}）摆正",
    "fit_downscaled": "{frame}：缩小 {before} → {after}，以符合请求的大小上限",
    "fit_reencoded": "{frame}：重新编码 {format} {size} → {target}，{new_size}",
    "fit_reencoded_kept": "{frame}：重新编码 {format} {size} → {target}，{new_size}，保留完整分辨率 {after}",
    "fit_target": "{format}",
    "fit_target_quality": "{format}（质量 {quality}）",
    "fit_target_alpha": "{target}，保留透明度",
    "fit_total": "两张图片现在占请求的 {size}（base64 文本）；可用空间为 {room}。",
    "problem_fit_no_room": "无法放入请求（图片可用 {room:,} 字节）：其他字段已占满空间；请改用 http(s) URL 提供画面，"
    "或缩短提示词和透传参数",
    "problem_fit_too_large": "无法放入请求（图片可用 {room:,} 字节）：即使缩小到 {width}×{height}，画面仍约需 "
    "{need:,} 字节；请改用 http(s) URL 提供画面，或缩短提示词和透传参数",
    "warning_off_peak": "中转服务的文档说明错峰生成仅适用于开启声音的 {models}；服务可能拒绝，或按正常价格运行任务",
    "hint_BadRequest": "服务认为请求格式有误；请检查选项后重试。",
    "hint_FieldLacking": "缺少必填字段；请补全后重试。",
    "hint_FieldUnwanted": "服务不接受发送的某个字段；请把该选项保持默认。",
    "hint_FieldInvalid": "某个字段的值不被服务接受；请更正后重试。",
    "hint_FieldItemCountOutOfRange": "请恰好发送两张图片：首帧和尾帧。",
    "hint_PageSizeOutOfRange": "图片的尺寸、格式或比例超出范围；请开启“自动适配画面”后重试。",
    "hint_PageSizeOutOfRange_auto_fit": "虽然已由“自动适配画面”处理，服务仍认为图片的尺寸或比例超出范围；"
    "请把两帧裁剪成相同形状，或以 http(s) URL 提供。",
    "hint_ImageDownloadFailure": "服务无法下载图片 URL；请确认它可公开访问，或直接上传文件。",
    "hint_ImageFormatInvalid": "图片不是 PNG、JPEG 或 WebP；请转换格式后重试。",
    "hint_ImageCheckBodyJointsFailed": "服务无法在画面中识别人物的身体关节；请使用主体身体清晰可见的画面。",
    "hint_ImageCheckFaceFailed": "服务无法检测画面中的人脸；请使用人脸清晰无遮挡的画面，或不含人脸的画面。",
    "hint_ImageObjectsUndetected": "服务在画面中没有找到主体；请使用主体明确的画面。",
    "hint_OperationInProcess": "该任务正在进行另一项操作；请稍候重试。",
    "hint_CreditInsufficient": "账户积分不足；请充值，或选择更短、分辨率更低的视频。",
    "hint_TaskPromptPolicyViolation": "提示词未通过内容规范审核；请修改措辞。",
    "hint_CreationPolicyViolation": "生成结果未通过内容规范审核；请更换画面或提示词。",
    "hint_AuditSubmitIllegal": "输入内容未通过审核；请更换画面或提示词。",
    "hint_ModelUnavailable": "该账户当前无法使用此模型；请选择其他模型。",
    "hint_UserCancelled": "任务已取消；积分会退还。",
    "hint_Unauthorized": "API 密钥被拒绝；请检查 VIDU_API_KEY 和认证方式（kkiai 用 Bearer，Vidu 官方用 Token）。",
    "hint_Unauthorized_visitor": "你的 API 密钥被拒绝；请检查粘贴的密钥（完整且没有多余字符）。",
    "hint_Forbidden": "该密钥无权执行此操作；请检查账户权限。",
    "hint_TaskNotFound": "此密钥下没有该 ID 的任务；请检查任务 ID 和服务地址。",
    "hint_TaskNotFound_visitor": "你的密钥下没有该 ID 的任务；请检查任务 ID。",
    "hint_CreationNotFound": "任务还没有结果；请稍后再查询。",
    "hint_NotFound": "服务没有该路径；请检查 VIDU_BASE_URL 和路径设置。",
    "hint_NotFound_visitor": "服务没有该路径；请告知本页面的管理员。",
    "hint_Conflict": "请求与任务当前状态冲突；请查询任务后重试。",
    "hint_QuotaExceeded": "运行中的任务过多；请等待某个任务完成后重试。",
    "hint_TooManyRequests": "请求过于频繁；请稍候重试。",
    "hint_SystemThrottling": "服务繁忙；请稍候重试。",
    "hint_Canceled": "服务取消了该请求；请重试。",
    "hint_InternalServiceFailure": "服务出错；请稍后重试。",
    "hint_cancel_scheduled": "任务已进入调度：只有“已创建”或“排队中”的任务可以取消；它会照常完成（并计费）。",
    "hint_status_400": "服务拒绝了请求；请检查选项后重试。",
    "hint_status_5xx": "服务出错；请稍后重试。",
    "hint_other": "请检查请求后重试。",
    "hint_connection": "请检查网络和 VIDU_BASE_URL 后重试。",
    "hint_connection_visitor": "无法连接服务；请稍后重试。",
    "hint_timeout": "服务没有及时响应；请稍后重试或调大超时。",
    "hint_timeout_visitor": "服务没有及时响应；请稍后重试。",
    "hint_response": "请确认 VIDU_BASE_URL 指向兼容 Vidu 的服务。",
    "hint_response_visitor": "服务的响应格式本页面无法读取；请告知本页面的管理员。",
    "hint_unknown_outcome": "不要立即重新提交：请先在服务的任务列表（`python -m vidu_ui tasks`）或账户中查找该任务。",
    "hint_unknown_outcome_visitor": "不要立即重新提交：请先在你的账户（或“历史记录”页）中查找该任务。",
    "hint_try_later": "请稍后重试。",
    # --- 未得到应答的创建，由服务的任务列表确认（reconcile.py） ----------------------------------------------------
    "checking_created": "正在确认任务是否已创建…",
    "settled_created": "任务已创建：{task_id}",
    "settled_not_created": "任务未创建，没有扣费",
    "settled_needs_look": "有多个任务可能是这一个（{ids}）：重新提交前请先查看它们",
    "settled_needs_key": "该任务是用访客自己的密钥发送的：再次提供该密钥后才能确认",
    "settled_pending": "尚未确认：服务的任务列表可能还没有显示它；请一分钟后再试",
    "title_not_created": "未创建",
    "hint_not_created": "准备好后可以再次发送。",
    "hint_unsettled": "请不要重新提交：`python -m vidu_ui reconcile` 会根据服务的任务列表确认它"
    "（应用每分钟也会这样做）。",
    "hint_unsettled_visitor": "请不要重新提交：应用会继续在服务的任务列表中查找该任务；请一分钟后打开“历史记录”页。",
    "title_download_refused": "视频未下载",
    "download_refused": "来自 {host} 的下载被拒绝：{detail}",
    "download_not_url": "不是 URL（{error}）",
    "download_scheme": "是 {scheme} 地址；只接受 https",
    "download_no_host": "URL 没有主机名，或包含用户名",
    "download_unresolved": "主机名无法解析（{error}）",
    "download_bad_address": "无法识别的地址（{address}）",
    "download_address": "它指向 {kind} 类地址（{address}）",
    "download_status": "服务器返回 HTTP {status}",
    "download_redirects": "重定向超过 {limit} 次",
    "download_too_large": "大于 {megabytes} MB（VIDU_UI_MAX_VIDEO_MB）",
    "download_not_video": "返回的内容不是 MP4、MOV 或 WebM 视频",
    "download_not_image": "返回的内容不是 PNG、JPEG 或 WebP 图片",
    "hint_download_refused": "没有保存任何内容。请重新查询任务以获取新链接（`python -m vidu_ui status <任务 ID>`，"
    "或在“历史记录”中打开）；如果服务一直给出这样的链接，请咨询服务商。",
    "hint_download_refused_visitor": "没有保存任何内容。请在“历史记录”中重新打开任务以获取新链接；"
    "如果仍然失败，请告知本页面的管理员。",
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
    "batch_checks_ok": "通过",
    "batch_total": "共 {jobs} 个任务，{ready} 个可发送；合计 {credits} 积分（估算值，实际以服务扣费为准）",
    "batch_unpriced": "{count} 个任务的模型没有公开价格，未计入合计。",
    "batch_manifest_at": "第 {line} 行，{column} 列：{problem}",
    "batch_manifest_unreadable": "无法读取清单文件（{error}）",
    "batch_manifest_not_json": "不是 JSON 对象（{error}）",
    "batch_manifest_extra_values": "值的数量多于表头的列数",
    "batch_manifest_unknown_column": "不是批量清单的列；可用的列：{columns}",
    "batch_manifest_missing_column": "表头缺少这一必需列",
    "batch_manifest_missing_value": "必须填写",
    "batch_manifest_not_text": "必须是文件路径或 http(s) 网址",
    "batch_manifest_empty": "清单中没有任务",
    "batch_job_invalid": "{job}：未发送：{problems}",
    "batch_job_refused": "{job}：被拒绝：{error}",
    "batch_job_created": "{job}：已创建任务 {task_id}",
    "batch_job_later": "{job}：服务繁忙（未创建任务，也未扣费）；{seconds} 秒内重试",
    "batch_dry_run": "试运行：没有发送任何请求",
    "batch_running": "正在发送 {jobs} 个任务，同时最多 {count} 个未完成",
    "batch_summary": "{success} 个成功，{failed} 个失败或未发送，{unknown} 个结果未知，{running} 个尚未完成",
    "batch_video": "{job}：视频已保存：{path}",
    "batch_no_video": "{job}：任务成功，但视频未保存：{note}",
    "tab_batch": "批量",
    "batch_mode": "计划来源",
    "batch_mode_prompts": "一对画面，多条描述",
    "batch_mode_storyboard": "分镜（按顺序的画面）",
    "batch_mode_pairs": "多对画面（按文件名或顺序配对）",
    "batch_files": "画面：分镜的各帧，或成对的画面（shot1_start.png、shot1_end.png…）",
    "batch_loop": "循环",
    "batch_loop_info": "一对画面：尾帧即首帧；分镜：再加一个回到第一帧的镜头",
    "batch_prompts": "描述",
    "batch_prompts_info": "每行一条；分镜或多对画面时，第 i 行用于第 i 个镜头（其余用最后一行）",
    "batch_models": "模型",
    "batch_seeds": "每条描述的种子数",
    "batch_first_seed": "起始种子",
    "batch_plan": "生成计划",
    "batch_jobs": "任务",
    "batch_run": "运行",
    "batch_cancel": "全部取消",
    "batch_download": "全部下载（zip）",
    "batch_results": "结果",
    "batch_archive": "视频与清单",
    "batch_col_job": "#",
    "batch_col_label": "镜头",
    "batch_col_model": "模型",
    "batch_col_seed": "种子",
    "batch_col_prompt": "描述",
    "batch_col_estimate": "积分（估算）",
    "batch_col_checks": "检查 / 状态",
    "batch_need_prompt": "请至少写一条描述。",
    "batch_need_model": "请至少选择一个模型。",
    "batch_need_pair": "请添加首帧和尾帧（或打开“循环”）。",
    "batch_need_files": "请上传画面：至少两张。",
    "batch_too_many": "该计划超过 {limit} 个任务；更大的批量请用命令行的 `batch`。",
    "batch_plan_first": "请先生成计划。",
    "batch_server_key": "批量任务使用服务器的密钥；本页面使用每位访客自己的密钥。",
    "batch_cancelled": "全部取消：未发送的任务已保留不发；已请求取消 {count} 个任务。",
    "batch_outcome_waiting": "等待中",
    "batch_outcome_sending": "发送中",
    "batch_outcome_running": "运行中",
    "batch_outcome_success": "成功",
    "batch_outcome_failed": "失败",
    "batch_outcome_unknown": "结果未知",
    "batch_outcome_held": "未发送",
    "batch_cancel_job": "取消该任务",
    "batch_retry_job": "重试该任务",
    "batch_reuse_job": "复用设置",
    "batch_pick": "在表格中选择一个任务，即可取消、重试或复用它。",
    "batch_selected": "任务 {job}：{state}",
    "batch_job_dropped": "{job}：已从本次运行中移除（从未发送：没有创建任务，也没有扣费）。",
    "batch_job_cancel_asked": "{job}：已请求服务取消任务 {task_id}。",
    "batch_job_retried": "{job}：将重新发送。",
    "batch_reuse_done": "任务 {job} 的设置已填入表单。",
    "batch_cannot_cancel_sending": "{job}：正在发送中；请在任务创建后再取消。",
    "batch_cannot_cancel_started": "{job}：任务已在处理中；服务只能取消处于“已创建”或“排队中”的任务。",
    "batch_cannot_cancel_unknown": "{job}：尚不知道任务是否已创建，在确认之前没有可取消的任务。",
    "batch_cannot_cancel_ended": "{job}：已经结束（或从未发送）。",
    "batch_cannot_retry_succeeded": "{job}：已成功；如需变体，请用“复用设置”。",
    "batch_cannot_retry_waiting": "{job}：尚未发送；点击“运行”即会发送。",
    "batch_cannot_retry_open": "{job}：任务仍在运行，可能会扣费；只有从未创建或确定失败的任务才能重试。",
    "batch_cannot_retry_unknown": "{job}：不知道任务是否已创建，可能已有任务并会扣费；因此不会重试"
    "（只有核对确认未创建时才会重新发送）。",
    "batch_cannot_retry_sending": "{job}：正在发送中。",
}

# Texts made from the catalogue: their English is the catalogue's own words.
for _amplitude in MOVEMENT_AMPLITUDES:
    EN[f"amplitude_{_amplitude}"] = _amplitude
for _position, _words in WM_POSITIONS.items():
    EN[f"wm_position_{_position}"] = _words
for _model in MODELS:
    EN[f"model_{_model.name.replace('.', '_')}"] = f"{_model.name} — {_model.description}"
for _lang_table in (EN, ZH):
    for _state in ("created", "queueing", "processing", "success", "failed", "cancelled"):
        _lang_table[f"filter_{_state}"] = _lang_table[f"state_{_state}"]

TRANSLATIONS: dict[str, dict[str, str]] = {"en": EN, "zh-CN": ZH}
TEXTS: dict[Lang, dict[str, str]] = {"en": EN, "zh-CN": ZH}


def model_key(name: str) -> str:
    """The key of a model's label (a dot would be read as a path by the browser)."""
    return f"model_{name.replace('.', '_')}"


def language_of(accept_language: str | None) -> Lang:
    """The page's language for an ``Accept-Language`` header: Chinese when the first choice is Chinese."""
    first = (accept_language or "").split(",")[0].split(";")[0].strip().lower()
    return "zh-CN" if first == "zh" or first.startswith(("zh-cn", "zh-hans", "zh-sg")) else "en"


def cli_language(option: str | None = None, environ: Mapping[str, str] | None = None) -> Lang:
    """The command line's language: ``--lang``, else ``LC_ALL``, ``LC_MESSAGES`` or ``LANG`` (``zh_CN.UTF-8``)."""
    env = os.environ if environ is None else environ
    for value in (option, env.get("LC_ALL"), env.get("LC_MESSAGES"), env.get("LANG")):
        if value:
            return language_of(value.split(".")[0].replace("_", "-"))
    return "en"


def say(lang: Lang, key: str, **values: Any) -> str:
    """The text of ``key`` in ``lang``, its ``{placeholders}`` filled in (a ``Phrase`` value in ``lang`` too)."""
    return TEXTS[lang][key].format(**{k: v.render(lang) if isinstance(v, Phrase) else v for k, v in values.items()})


@dataclass(frozen=True)
class Phrase:
    """A text not yet in words: a message key and its values, said in the reader's language when shown.

    What the core reports (auto-fit's changes, a frame's kind inside a problem) is a ``Phrase``, so the CLI and the
    page say it in their reader's language; a value may itself be a ``Phrase`` (``frame_kind_pdf`` inside
    ``problem_frame_not_image``). ``str()`` is the English text, for logs."""

    key: str
    values: dict[str, Any] = dataclass_field(default_factory=dict, hash=False)

    @classmethod
    def of(cls, key: str, **values: Any) -> Phrase:
        return cls(key, values)

    def render(self, lang: Lang = "en") -> str:
        return say(lang, self.key, **self.values)

    def __str__(self) -> str:
        return self.render("en")


def has(key: str) -> bool:
    return key in EN


def _reader_key(key: str, reader: Reader) -> str:
    own = f"{key}_visitor"
    return own if reader == "visitor" and own in EN else key


def hint(
    lang: Lang, reason: str | None, status: int | None = None, reader: Reader = "operator", *, auto_fit: bool = False
) -> str:
    """What to do about a reason (an error's, or a failed task's ``err_code``), or failing that the HTTP status.

    ``auto_fit``: auto-fit prepared the request, so the advice never says to turn it on."""
    if auto_fit and reason and has(f"hint_{reason}_auto_fit"):
        return say(lang, f"hint_{reason}_auto_fit")
    if reason and has(f"hint_{reason}"):
        return say(lang, _reader_key(f"hint_{reason}", reader))
    by_status = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 429: "TooManyRequests"}
    if status in by_status:
        return say(lang, _reader_key(f"hint_{by_status[status]}", reader))
    if status == 400:
        return say(lang, "hint_status_400")
    if status is not None and status >= 500:
        return say(lang, "hint_status_5xx")
    return say(lang, "hint_other")


def reason_hint(lang: Lang, code: str | None) -> str:
    """A failed task's ``err_code`` in words: the code and what to try."""
    if not code:
        return say(lang, "failed_no_code")
    known = has(f"hint_{code}")
    return say(
        lang, "failed_code", code=code, hint=say(lang, f"hint_{code}") if known else say(lang, "failed_unknown_code")
    )


def render_problem(problem: Any, lang: Lang = "en", *, with_field: bool = True) -> str:
    """A ``Problem`` in words: the CLI keeps the field name (``prompt: is required``), the page shows the message
    at its input without it. A problem not yet in the catalogue (``text``) is shown as written."""
    key: str | None = problem.key
    body = say(lang, key, **problem.values) if key else str(problem.text)
    return f"{problem.field}: {body}" if with_field else body


def state_text(lang: Lang, state: str, err_code: str | None = None) -> str:
    """A task's state as a person reads it: a known state's name, Cancelled for every spelling of a cancelled
    task, and "still running (service says: …)" for a state outside the documented ones."""
    from .responses import outcome  # responses imports nothing of this module; only the function is needed

    shown = outcome(state, err_code)
    if shown == "running":
        return say(lang, "state_other", state=state)
    return say(lang, f"state_{shown}")


def render_error(exc: Exception, lang: Lang = "en", reader: Reader = "operator") -> tuple[str, str, list[str]]:
    """An error as ``(title, what happened, what to do)``: the one place an error becomes text.

    ``reader`` is who must act: the ``operator`` (VIDU_API_KEY, VIDU_BASE_URL are theirs) or a ``visitor``
    of the page with their own key (told to check *their* key; settings are someone else's)."""
    from . import errors  # errors.Problem renders through this module: import at call time
    from .downloads import DownloadRefused  # downloads names its refusals with this module's keys
    from .reconcile import NotCreated, Unsettled  # reconcile words its verdicts with this module's keys

    if isinstance(exc, DownloadRefused):
        detail = say(lang, f"download_{exc.reason}", **exc.values)
        happened = say(lang, "download_refused", host=exc.host or "?", detail=detail)
        return say(lang, "title_download_refused"), happened, [say(lang, _reader_key("hint_download_refused", reader))]
    if isinstance(exc, errors.InvalidInput):
        lines = [render_problem(p, lang) for p in exc.problems]
        return say(lang, "title_invalid"), "\n".join(lines), []
    if isinstance(exc, NotCreated):  # a create without an answer, and the task list shows no task
        happened = f"{exc.unknown.message}; {exc.settled.message(lang)}"
        return say(lang, "title_not_created"), happened, [say(lang, "hint_not_created")]
    if isinstance(exc, Unsettled):  # ... and the task list did not settle it (yet, or not alone)
        happened = f"{exc.unknown.message}; {exc.settled.message(lang)}"
        return say(lang, "title_unknown"), happened, [say(lang, _reader_key("hint_unsettled", reader))]
    if isinstance(exc, errors.OutcomeUnknownError):
        happened = f"{exc.message}. {say(lang, 'unknown_outcome_advice')}"
        return say(lang, "title_unknown"), happened, [say(lang, _reader_key("hint_unknown_outcome", reader))]
    if isinstance(exc, errors.APIStatusError):
        parts = [say(lang, "error_status", status=exc.status_code) + (f" {exc.reason}" if exc.reason else "")]
        if exc.service_message:
            parts.append(exc.service_message)
        if exc.trace_id:
            parts.append(say(lang, "error_trace", trace_id=exc.trace_id))
        advice = say(lang, "hint_cancel_scheduled") if errors.is_cancel_too_late(exc) else None
        advice = advice or hint(lang, exc.reason, exc.status_code, reader, auto_fit=exc.auto_fit)
        return exc.reason or say(lang, "title_refused"), " · ".join(parts), [advice]
    if isinstance(exc, errors.APIError):
        kind = {
            errors.APITimeoutError: "hint_timeout",
            errors.APIConnectionError: "hint_connection",
            errors.APIResponseError: "hint_response",
        }
        key = next((k for cls, k in kind.items() if isinstance(exc, cls)), "hint_try_later")
        return say(lang, "title_unreachable"), exc.message, [say(lang, _reader_key(key, reader))]
    return say(lang, "title_refused"), str(exc), []
