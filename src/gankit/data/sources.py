"""Where a dataset's files live, and the one-line error when they are missing and cannot be fetched.

A source has `name`, `folder` (a Path), `expected` (the files expected there, in words),
`available() -> bool` and `download()` (torchvision's download; raises when it cannot); optionally `places`, every
folder it looks in, in order (the error names them all).
"""

from __future__ import annotations

from gankit.errors import BadArgument


def _download_reason(error: BaseException) -> str:
    """The error's type and the line of its message that names the error (a download's message has many)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    reason = next((line for line in lines if "rror" in line and not line.endswith(":")), None)
    return f"{type(error).__name__}: {reason or (lines[0] if lines else '')}".rstrip(": ")


def ensure_available(source, download: bool) -> None:
    """Downloads the source's files when they are missing and `download` is on; else one line (a BadArgument of
    the datamodule holding the source as `source`, with `download`)."""
    if source.available():
        return
    failure = ""
    if download:
        try:
            source.download()
        except Exception as error:  # any network, archive or missing-dependency failure
            failure = f"; the download failed ({_download_reason(error)})"
        if not failure and source.available():
            return
    hint = "put them there" if download else "put them there or set {key:download}=true"
    places = " or ".join(str(p.absolute()) for p in getattr(source, "places", [source.folder]))
    raise BadArgument("source.root", f"{source.name} files not found in {places}: expected "
                                     f"{source.expected}{failure}; {hint}, or point {{key}} at the folder that "
                                     "holds them")
