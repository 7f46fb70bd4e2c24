"""A small text progress bar for management commands (writes to their stdout)."""

import time


class Progress:
    """``with Progress(cmd.stdout, total, "Indexing") as bar: bar.advance()``.

    Redraws in place on a terminal; on a pipe or log it prints a line every
    10% so that CI logs stay short.
    """

    def __init__(self, stream, total, label, width=30):
        self.stream, self.total, self.label, self.width = stream, max(0, int(total)), label, width
        self.done, self.started = 0, time.monotonic()
        self._last_decile, self._last_done = -1, -1
        out = getattr(stream, "_out", stream)
        self.tty = hasattr(out, "isatty") and out.isatty()

    def __enter__(self):
        self._draw()
        return self

    def __exit__(self, *exc):
        self._draw(final=True)

    def advance(self, n=1):
        self.done += n
        self._draw()

    def _draw(self, final=False):
        total = self.total or 1
        frac = min(1.0, self.done / total)
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        bar = "#" * int(frac * self.width)
        line = f"{self.label} [{bar:<{self.width}}] {self.done}/{self.total} {frac:5.1%} {rate:6.1f}/s"
        if self.tty:
            self.stream.write("\r" + line, ending="\n" if final else "")
            self.stream.flush()
        else:
            decile = int(frac * 10)
            if decile != self._last_decile or (final and self.done != self._last_done):
                self._last_decile, self._last_done = decile, self.done
                self.stream.write(line)
