"""Headless Chromium driven over the DevTools protocol through a pipe (no browser download, no extra package).

:func:`open_page` loads a local HTML file in Debian's ``chromium`` and
returns what a user's browser would have met: the state of every
``<audio>`` and ``<img>`` element after loading, the console's errors and
failed loads, and a screenshot. Chromium is started with
``--remote-debugging-pipe``: commands go in on its file descriptor 3 and
replies come out on 4, as NUL-terminated JSON.
"""

import base64
import fcntl
import json
import os
import pathlib
import select
import shutil
import subprocess
import tempfile
import time

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--mute-audio", "--remote-debugging-pipe"]

# Resolves when every <audio> has its metadata or an error (or after 10 s), with each element's state.
MEDIA_STATE = """
new Promise(resolve => {
  const audios = [...document.querySelectorAll('audio')];
  const settled = a => a.readyState >= 1 || a.error !== null;
  const report = () => resolve({
    audio: audios.map(a => ({src: a.getAttribute('src'), readyState: a.readyState, duration: a.duration,
                             error: a.error && a.error.code})),
    images: [...document.images].map(i => ({src: i.getAttribute('src'), width: i.naturalWidth})),
  });
  const start = Date.now();
  const poll = () => (audios.every(settled) || Date.now() - start > 10000) ? report() : setTimeout(poll, 50);
  poll();
})
"""


def available():
    return os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


class _Pipe:
    def __init__(self, process, write_fd, read_fd):
        self.process, self._write, self._read = process, write_fd, read_fd
        self._buffer, self._next_id, self.events = b"", 0, []

    def _message(self, deadline):
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read], [], [], left)[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError(f"chromium closed the pipe (exit status {self.process.poll()})")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method, session=None, timeout=30.0, **params):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method, timeout=30.0):
        deadline = time.monotonic() + timeout
        while not any(event.get("method") == method for event in self.events):
            self.events.append(self._message(deadline))


def _errors(events):
    """Console errors, uncaught exceptions and failed loads, as lines."""
    lines = []
    for event in events:
        params = event.get("params", {})
        if event.get("method") == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            words = (str(arg.get("value", arg.get("description"))) for arg in params["args"])
            lines.append("console: " + " ".join(words))
        elif event.get("method") == "Runtime.exceptionThrown":
            lines.append("exception: " + params["exceptionDetails"].get("text", ""))
        elif event.get("method") == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            lines.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
    return lines


def open_page(html_path, screenshot_path, width=1280, height=900):
    """Load ``html_path``; returns {"audio": [...], "images": [...], "errors": [...]} and writes the screenshot PNG."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    to_chrome_read, to_chrome_write = os.pipe()
    from_chrome_read, from_chrome_write = os.pipe()
    # Chromium expects the pipe on descriptors 3 (in) and 4 (out): copies above 9, moved there in the child.
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_chrome_read, from_chrome_write)]

    def child_fds():
        os.dup2(high[0], 3)
        os.dup2(high[1], 4)

    process = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                                "about:blank"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, preexec_fn=child_fds, pass_fds=(3, 4))
    for fd in (to_chrome_read, from_chrome_write, *high):
        os.close(fd)
    pipe = _Pipe(process, to_chrome_write, from_chrome_read)
    try:
        target = pipe.send("Target.createTarget", url="about:blank")["targetId"]
        session = pipe.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            pipe.send(f"{domain}.enable", session)
        pipe.send("Emulation.setDeviceMetricsOverride", session, width=width, height=height, deviceScaleFactor=1,
                  mobile=False)
        pipe.send("Page.navigate", session, url=pathlib.Path(html_path).resolve().as_uri())
        pipe.wait_for("Page.loadEventFired")
        state = pipe.send("Runtime.evaluate", session, timeout=30.0, expression=MEDIA_STATE, awaitPromise=True,
                          returnByValue=True)["result"]["value"]
        shot = pipe.send("Page.captureScreenshot", session, format="png", captureBeyondViewport=True)
        pathlib.Path(screenshot_path).write_bytes(base64.b64decode(shot["data"]))
        state["errors"] = _errors(pipe.events)
        return state
    finally:
        try:
            pipe.send("Browser.close", timeout=5.0)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        os.close(to_chrome_write)
        os.close(from_chrome_read)
        shutil.rmtree(profile, ignore_errors=True)
