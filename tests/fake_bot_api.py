"""A tiny Bot API server on 127.0.0.1 for tests: queued updates for getUpdates, recorded sendMessage and
sendDocument calls (the uploaded file's name and bytes kept in `Call.files`).

`POST /bot{token}/{method}` answers `{"ok": true, "result": ...}` like Telegram; `getUpdates` serves the
queued updates from `offset` on (long polling for a moment when there are none); `refuse_next(method,
retry_after)` answers that method's next call with 429 and `parameters.retry_after`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Loanline", "username": "loanline_test_bot"}
LONG_POLL = 0.2  # seconds a getUpdates with nothing to serve waits before answering []


@dataclass
class Call:
    """One request the bot made: the method, its fields (JSON ones decoded) and when it arrived."""

    method: str
    fields: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # form field -> (file name, content)


class FakeBotAPI:
    """The server: start it inside a running event loop, point the bot at `base_url`, stop it after."""

    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.calls: list[Call] = []
        self.refusals: dict[str, list[float]] = {}
        self.blocked: set[int] = set()
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> FakeBotAPI:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._answer)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what tests do -----------------------------------------------------------------------------------

    def push(self, update: dict[str, Any], update_id: int | None = None) -> int:
        """Queue an update (numbered unless given) for the next getUpdates; return its update_id."""
        number = next(self._update_ids) if update_id is None else update_id
        self.updates.append({"update_id": number, **update})
        self._arrived.set()
        return number

    def refuse_next(self, method: str, retry_after: float) -> None:
        """Answer the next call of `method` with 429 Too Many Requests and `retry_after`."""
        self.refusals.setdefault(method, []).append(retry_after)

    def block(self, chat_id: int) -> None:
        """Refuse every message to this chat with 403, as Telegram does once the user blocked the bot."""
        self.blocked.add(chat_id)

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Return the sendMessage calls that succeeded (to one chat when given)."""
        return [call for call in self.calls if call.method == "sendMessage" and not call.fields.get("_refused")
                and (chat_id is None or int(call.fields["chat_id"]) == chat_id)]  # fmt: skip

    def documents(self, chat_id: int | None = None) -> list[Call]:
        """Return the sendDocument calls that succeeded (to one chat when given)."""
        return [call for call in self.calls if call.method == "sendDocument" and not call.fields.get("_refused")
                and (chat_id is None or int(call.fields["chat_id"]) == chat_id)]  # fmt: skip

    async def wait_for_sent(self, count: int, chat_id: int | None = None, timeout: float = 10.0) -> list[Call]:
        """Wait until at least `count` messages were sent (to the chat); fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while len(self.sent(chat_id)) < count:
            if time.monotonic() > deadline:
                texts = [call.fields.get("text") for call in self.sent(chat_id)]
                raise AssertionError(f"expected {count} messages, got {len(texts)}: {texts}")
            await asyncio.sleep(0.02)
        return self.sent(chat_id)

    # -- the Bot API ---------------------------------------------------------------------------------------

    async def _answer(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"].startswith("0:"):  # tokens of bot 0 are revoked
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        form = await request.post()
        fields = {key: _decoded(value) for key, value in form.items() if isinstance(value, str)}
        files = {
            key: (value.filename, value.file.read()) for key, value in form.items() if isinstance(value, FileField)
        }
        for key, value in fields.items():  # aiogram names an upload by a key and points the field at "attach://key"
            if isinstance(value, str) and value.startswith("attach://") and value[9:] in files:
                files[key] = files.pop(value[9:])
        call = Call(method, fields, files=files)
        self.calls.append(call)
        if self.refusals.get(method):
            retry_after = self.refusals[method].pop(0)
            call.fields["_refused"] = True
            return web.json_response(
                {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {retry_after}",
                 "parameters": {"retry_after": retry_after}}, status=429,
            )  # fmt: skip
        if method == "getUpdates":
            return _ok(await self._updates(fields))
        if method == "getMe":
            return _ok(BOT_USER)
        if method == "sendMessage" and int(fields["chat_id"]) in self.blocked:
            call.fields["_refused"] = True
            refusal = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
            return web.json_response(refusal, status=403)
        if method == "sendMessage":
            return _ok(self._message(fields))
        if method == "sendDocument":
            return _ok(self._document_message(fields, files))
        return _ok(True)  # answerCallbackQuery, deleteWebhook, setWebhook...

    async def _updates(self, fields: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(fields.get("offset", 0))
        self.updates = [update for update in self.updates if update["update_id"] >= offset]
        if not self.updates:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), LONG_POLL)
            except TimeoutError:
                return []
        return list(self.updates)

    def _message(self, fields: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(fields["chat_id"])
        return {"message_id": next(self._message_ids), "date": int(time.time()), "text": fields.get("text", ""),
                "chat": {"id": chat_id, "type": "private"}, "from": BOT_USER}  # fmt: skip

    def _document_message(self, fields: dict[str, Any], files: dict[str, tuple[str, bytes]]) -> dict[str, Any]:
        name, content = files.get("document", ("document", b""))
        document = {"file_id": f"file-{len(content)}", "file_unique_id": f"u-{len(content)}", "file_name": name,
                    "mime_type": "application/pdf", "file_size": len(content)}  # fmt: skip
        return {**self._message(fields), "document": document, "caption": fields.get("caption", "")}


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _decoded(value: str) -> Any:
    if value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# -- updates as Telegram sends them -------------------------------------------------------------------------


def user(user_id: int) -> dict[str, Any]:
    """Return a Telegram user."""
    return {"id": user_id, "is_bot": False, "first_name": "Borrower", "language_code": "en"}


def text_update(chat_id: int, text: str) -> dict[str, Any]:
    """Return an update carrying a text message from a private chat (user id = chat id)."""
    return {"message": _message(chat_id, text=text)}


def contact_update(chat_id: int, phone: str, contact_user_id: int | None) -> dict[str, Any]:
    """Return an update carrying a shared contact (the sender's own when contact_user_id equals chat_id)."""
    contact: dict[str, Any] = {"phone_number": phone, "first_name": "Someone"}
    if contact_user_id is not None:
        contact["user_id"] = contact_user_id
    return {"message": _message(chat_id, contact=contact)}


def document_update(chat_id: int, file_id: str, mime: str, caption: str = "") -> dict[str, Any]:
    """Return an update carrying a document."""
    document = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "mime_type": mime}
    return {"message": _message(chat_id, document=document, caption=caption)}


def button_update(chat_id: int, data: str) -> dict[str, Any]:
    """Return an update for a press on an inline button."""
    return {"callback_query": {"id": f"cb-{chat_id}-{data}", "from": user(chat_id), "chat_instance": "ci",
                               "data": data, "message": _message(chat_id, text="buttons")}}  # fmt: skip


_ids = itertools.count(1)


def _message(chat_id: int, **content: Any) -> dict[str, Any]:
    return {"message_id": next(_ids), "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
            "from": user(chat_id), **content}  # fmt: skip
