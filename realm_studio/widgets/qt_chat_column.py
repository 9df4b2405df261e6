"""One side of the Playground: a model served by the engine, its streamed reply and the verifier's verdict.

The model runs in ``realm-engine serve`` (a child process, ``--exit-with-parent``): this widget
only speaks HTTP to it (Qt's network module, server-sent events), so the GUI never loads torch.
Changing the model, closing the panel or the window ends that server.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QByteArray, QUrl, Signal
from PySide6.QtNetwork import QNetworkAccessManager, QNetworkReply, QNetworkRequest
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from engine.events import SERVING

from ..engine_client import EngineClient, EngineJob

VERDICT_STYLE = {"positive": "color: #1a7f37", "negative": "color: #d1242f", "unparsed": "color: #6e7781"}


class QtChatColumn(QWidget):
    """Pick a model (its server starts), ask it, watch the reply stream in."""

    sig_ready = Signal(str)
    """The model's server answers at this url."""
    sig_reply_done = Signal(dict)
    """A reply ended: ``{"text", "verdict" (or None), "error" (or "")}``."""

    def __init__(self, engine: EngineClient, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.engine = engine
        self.project_dir: Path | None = None
        self.job: EngineJob | None = None
        self.url: str | None = None
        self.server_pid: int | None = None
        self.reply: QNetworkReply | None = None
        self.text = ""
        self._buffer = b""
        self._final: dict = {}
        self.network = QNetworkAccessManager(self)
        self.model = QComboBox(toolTip="base, a run's newest weights (final or latest checkpoint), or an export")
        self.routes = QCheckBox("with candidate routes", toolTip="Ask the problem as MRPV does: its candidate "
                                "routes (some wrong) are shown in the prompt, as evaluation shows them")
        self.state = QLabel("no model")
        self.prompt_note = QLabel(styleSheet="color: #6e7781")
        self.view = QPlainTextEdit(readOnly=True)
        self.verdict = QLabel()
        head = QHBoxLayout()
        head.addWidget(QLabel(f"<b>{title}</b>"))
        head.addWidget(self.model, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        for widget in (self.routes, self.state, self.prompt_note, self.view, self.verdict):
            layout.addWidget(widget, 1 if widget is self.view else 0)
        self.model.activated.connect(lambda _i: self.load(self.model.currentText()))

    # -- models and their server ----------------------------------------------------------

    def set_models(self, project_dir: Path | None, specs: list[str]) -> None:
        """Offer ``specs``; a different project stops the current server."""
        if project_dir != self.project_dir:
            self.stop_server()
        self.project_dir = project_dir
        current = self.model.currentText()
        self.model.clear()
        self.model.addItems(specs)
        if current in specs:
            self.model.setCurrentText(current)

    def load(self, spec: str) -> None:
        """Start ``realm-engine serve --model spec`` (after stopping the one before)."""
        self.stop_server()
        if not spec or self.project_dir is None:
            return
        self.model.setCurrentText(spec)
        self.state.setText(f"loading {spec} …")
        self.job = self.engine.run(["serve", str(self.project_dir), "--model", spec, "--port", "0",
                                    "--exit-with-parent"])
        self.job.sig_event.connect(self._on_server_event)
        self.job.sig_finished.connect(self._on_server_exit)

    def stop_server(self) -> None:
        """End the reply in flight and the model's server (SIGTERM, then kill): nothing is left running."""
        self.abort()
        if self.job is not None:
            job, self.job = self.job, None
            job.sig_finished.disconnect(self._on_server_exit)
            job.terminate(2000)
            if not job.wait(4000):
                job.kill()
                job.wait(2000)
        self.url = self.server_pid = None
        self.state.setText("no model")

    def _on_server_event(self, event: dict) -> None:
        if event.get("type") == SERVING:
            self.url, self.server_pid = event["url"], event.get("pid")
            self.state.setText(f"ready: {event.get('model')}")
            self.sig_ready.emit(self.url)

    def _on_server_exit(self, code: int) -> None:
        job, self.job, self.url = self.job, None, None
        self.state.setText(f"model server ended: {job.error_line if job is not None and job.error_line else code}")

    # -- asking -----------------------------------------------------------------------------

    def ask(self, user_text: str, *, problem_id: str | None, temperature: float, max_tokens: int,
            seed: int | None) -> bool:
        """Send the prompt (or, with routes on, the problem's MRPV prompt); False when no model is ready."""
        if self.url is None:
            return False
        self.abort()
        self.view.clear()
        self.verdict.clear()
        self.text, self._buffer, self._final = "", b"", {}
        params = {"temperature": temperature, "max_tokens": max_tokens, "seed": seed}
        if problem_id and self.routes.isChecked():
            url = self.url.removesuffix("/v1") + f"/realm/prompt?problem_id={problem_id}&routes=1"
            self.reply = self.network.get(QNetworkRequest(QUrl(url)))
            self.reply.finished.connect(lambda r=self.reply: self._on_prompt(r, problem_id, params))
        else:
            self.prompt_note.setText("prompt: as typed" if not problem_id else "prompt: the question, no routes")
            self._post(user_text, problem_id, params)
        return True

    def _on_prompt(self, reply: QNetworkReply, problem_id: str, params: dict) -> None:
        body = self._json(reply)
        if reply is not self.reply:
            return
        if "user_text" not in body:
            return self._done((body.get("error") or {}).get("message", "no prompt"))
        self.prompt_note.setText(f"prompt: the question with {body['routes_shown']} candidate routes (MRPV)")
        self.prompt_note.setToolTip(body["user_text"])  # the whole prompt, routes included
        self._post(body["user_text"], problem_id, params)

    def _post(self, user_text: str, problem_id: str | None, params: dict) -> None:
        body = {"messages": [{"role": "user", "content": user_text}], "stream": True, **params}
        if problem_id:
            body["realm"] = {"problem_id": problem_id}
        request = QNetworkRequest(QUrl(self.url + "/chat/completions"))
        request.setHeader(QNetworkRequest.KnownHeaders.ContentTypeHeader, "application/json")
        self.state.setText(self.state.text().split(" · ")[0] + " · generating …")
        self.reply = self.network.post(request, QByteArray(json.dumps(body).encode()))
        self.reply.readyRead.connect(self._on_stream)
        self.reply.finished.connect(lambda r=self.reply: self._on_stream_end(r))

    def _on_stream(self) -> None:
        self._buffer += bytes(self.reply.readAll().data())
        *events, self._buffer = self._buffer.split(b"\n\n")
        for raw in events:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[len("data: "):])
            piece = (chunk["choices"][0].get("delta") or {}).get("content") or ""
            if piece:
                self.text += piece
                self.view.insertPlainText(piece)
            self._final = chunk

    def _on_stream_end(self, reply: QNetworkReply) -> None:
        if reply is not self.reply:
            return
        if reply.error() != QNetworkReply.NetworkError.NoError:
            body = self._json(reply)
            return self._done((body.get("error") or {}).get("message") or reply.errorString())
        self._on_stream()
        self._done("")

    def _done(self, error: str) -> None:
        verdict = (self._final.get("realm") or {}).get("verdict")
        if verdict:
            mark = {"positive": "✓ right", "negative": "✗ wrong", "unparsed": "? no readable answer"}[verdict["label"]]
            self.verdict.setText(f"{mark}: answer {verdict['extracted']!r}, gold {verdict['gold']!r}")
            self.verdict.setStyleSheet(VERDICT_STYLE[verdict["label"]])
        elif error:
            self.verdict.setText(error.splitlines()[0])
            self.verdict.setStyleSheet(VERDICT_STYLE["negative"])
        self.state.setText(self.state.text().split(" · ")[0])
        self.reply = None
        self.sig_reply_done.emit({"text": self.text, "verdict": verdict, "error": error})

    def abort(self) -> None:
        if self.reply is not None:
            reply, self.reply = self.reply, None
            reply.abort()
            reply.deleteLater()

    @staticmethod
    def _json(reply: QNetworkReply) -> dict:
        try:
            return json.loads(bytes(reply.readAll().data()) or b"{}")
        except ValueError:
            return {}
