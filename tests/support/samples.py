"""Answers of the service as the contract (``shared/vidu-api.md``) shows them: shared by the response and client
tests."""

from __future__ import annotations

SEED_RESPONSE = {
    "task_id": "911088422699962368",
    "type": "headtailimg2video",
    "state": "created",
    "model": "viduq1",
    "style": "general",
    "prompt": "A little girl picking mushrooms goes up the mountain to gather mushrooms and comes across a mushroom "
    "bigger than herself.",
    "images": [
        "https://storage.xuanxu.net/images/1997560136907759618/1768223244152.png",
        "https://storage.xuanxu.net/images/1997560136907759618/1768223372503.png",
    ],
    "duration": 5,
    "seed": 722073967,
    "aspect_ratio": "",
    "resolution": "1080p",
    "movement_amplitude": "auto",
    "created_at": "2026-01-20T06:52:02.323137590Z",
    "credits": 80,
    "payload": "",
    "cus_priority": 0,
    "off_peak": False,
    "watermark": False,
    "is_rec": False,
    "wm_position": "unspecified",
    "wm_url": "",
    "meta_data": "",
    "client_request_id": "",
}

SUCCESS_STATUS = {
    "id": "911088422699962368",
    "state": "success",
    "err_code": "",
    "credits": 80,
    "payload": "",
    "creations": [
        {
            "id": "c1",
            "url": "https://cdn.test/v.mp4?sig=1",
            "cover_url": "https://cdn.test/c.jpg",
            "watermarked_url": "https://cdn.test/w.mp4",
            "extra_thing": 7,
        }
    ],
}
