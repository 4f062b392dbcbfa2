"""Scene values and QR images for placements (C3).

A scene is `p` + a base36 counter (`p1`, `pa`, `p2s`, … `pzzzzzz` is the 78-billionth), so
it fits every WeChat limit with room to spare: Official Account `scene_str` is 1–64
characters, a Mini Program `scene` at most 32 from digits, letters and
`!#$&'()*+,/:;=?@-._~`. We keep to `[A-Za-z0-9_-]`, safe in URLs, XML pushes and both
WeChat APIs. Allocation (which needs the database) lives in campaigns.services; this module
is pure: encode, validate, render.
"""

import base64
import functools
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import qrcode
from django.conf import settings
from django.utils.text import slugify
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M

from campaigns.models import Placement

SCENE_PREFIX = "p"
SCENE_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
SCENE_CHARACTERS = re.compile(r"^[A-Za-z0-9_-]+$")

# Longest scene each kind of code accepts (WECHAT.md §1 and §3.1). A web short link is
# bounded by the model field.
SCENE_MAX_LENGTH = {
    Placement.QRKind.WEB_LINK: 32,
    Placement.QRKind.OA_TEMPORARY: 64,
    Placement.QRKind.OA_PERMANENT: 64,
    Placement.QRKind.MINI_PROGRAM: 32,
}

# Temporary Official Account codes live at most 30 days.
OA_TEMPORARY_MAX_SECONDS = 2_592_000


class InvalidScene(ValueError):
    """A scene value WeChat (or our URLs) would not accept."""


def encode_scene(number: int) -> str:
    """The scene for the n-th issued code (n ≥ 1): `p` + n in base36."""
    if number < 1:
        raise ValueError("scene numbers start at 1")
    digits = []
    while number:
        number, remainder = divmod(number, 36)
        digits.append(SCENE_ALPHABET[remainder])
    return SCENE_PREFIX + "".join(reversed(digits))


def validate_scene(value: str, qr_kind: str) -> None:
    """Raise InvalidScene when `value` breaks the limits of this kind of code."""
    limit = SCENE_MAX_LENGTH[qr_kind]
    if not 1 <= len(value) <= limit:
        raise InvalidScene(f"A {Placement.QRKind(qr_kind).label} scene must be 1–{limit} characters, not {len(value)}.")
    if not SCENE_CHARACTERS.match(value):
        raise InvalidScene(f"Scene {value!r} may only use letters, digits, '-' and '_'.")


# --- images ---------------------------------------------------------------------------

BOX_SIZE = 10  # pixels per module in the PNG: ~300 px wide for a short link, print-ready
BORDER = 4  # the quiet zone the QR standard asks for, in modules
CAPTION_FONT_SIZE = 18
CAPTION_LINE_HEIGHT = 24
# Fonts tried for the PNG caption, first found wins: a CJK font when installed (Chinese
# campaign names), else DejaVu, else Pillow's built-in font (Latin only).
CAPTION_FONTS = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
]


def _matrix(content: str) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=BORDER)
    code.add_data(content)
    code.make(fit=True)
    return code.get_matrix()


@functools.cache
def _caption_font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in [settings.QR_CAPTION_FONT, *CAPTION_FONTS]:
        if path and Path(path).is_file():
            return ImageFont.truetype(path, CAPTION_FONT_SIZE)
    return ImageFont.load_default(size=CAPTION_FONT_SIZE)


def _fit(text: str, font, width: int) -> str:
    """Shorten a caption line with an ellipsis so it fits under the code."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _png_with_caption(code: Image.Image, caption: Sequence[str]) -> bytes:
    """`code` with the caption lines centred underneath, as PNG."""
    code = code.convert("L")
    size = code.width
    lines = [line for line in caption if line]
    if not lines:
        canvas = code
    else:
        font = _caption_font()
        canvas = Image.new("L", (size, code.height + CAPTION_LINE_HEIGHT * len(lines) + BOX_SIZE), 255)
        canvas.paste(code, (0, 0))
        draw = ImageDraw.Draw(canvas)
        for n, line in enumerate(lines):
            text = _fit(line, font, size - 2 * BOX_SIZE)
            draw.text((size / 2, code.height + n * CAPTION_LINE_HEIGHT), text, fill=0, font=font, anchor="mt")
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=True)
    return out.getvalue()


def render_png(content: str, caption: Sequence[str] = ()) -> bytes:
    """The QR code for `content` as PNG with the caption lines centred underneath."""
    matrix = _matrix(content)
    size = len(matrix) * BOX_SIZE
    code = Image.new("1", (len(matrix), len(matrix)), 1)
    code.putdata([0 if dark else 1 for row in matrix for dark in row])
    return _png_with_caption(code.resize((size, size), Image.Resampling.NEAREST), caption)


def render_image_png(image: bytes, caption: Sequence[str] = ()) -> bytes:
    """A code image WeChat drew (Mini Program code) with our caption underneath."""
    with Image.open(io.BytesIO(image)) as drawn:
        return _png_with_caption(drawn.convert("RGBA").convert("L"), caption)


def render_image_svg(image: bytes, caption: Sequence[str] = ()) -> bytes:
    """A code image WeChat drew, embedded in an SVG with a text caption (a Mini Program code
    is not a QR matrix, so it cannot be redrawn as vectors)."""
    with Image.open(io.BytesIO(image)) as drawn:
        width, height = drawn.size
    lines = [line for line in caption if line]
    total = height + (CAPTION_LINE_HEIGHT * len(lines) + BOX_SIZE if lines else 0)
    texts = "".join(
        f'<text x="{width / 2}" y="{height + CAPTION_LINE_HEIGHT * (n + 0.5)}" font-family="sans-serif" '
        f'font-size="{CAPTION_FONT_SIZE}" text-anchor="middle" dominant-baseline="middle">{escape(line)}</text>'
        for n, line in enumerate(lines)
    )
    data = base64.b64encode(image).decode()
    svg = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {total}" width="{width}" height="{total}">'
        f"<title>{escape(' — '.join(lines))}</title>"
        f'<rect width="{width}" height="{total}" fill="#fff"/>'
        f'<image href="data:image/png;base64,{data}" width="{width}" height="{height}"/>{texts}</svg>'
    )
    return svg.encode()


def render_svg(content: str, caption: Sequence[str] = ()) -> bytes:
    """The QR code as a scalable SVG (one path, one module = one unit) with text caption lines."""
    matrix = _matrix(content)
    size = len(matrix)
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    lines = [line for line in caption if line]
    height = size + 2.4 * len(lines) + (1 if lines else 0)
    texts = "".join(
        f'<text x="{size / 2}" y="{size + 1 + 2.4 * n}" font-family="sans-serif" font-size="1.8" '
        f'text-anchor="middle" dominant-baseline="middle">{escape(line)}</text>'
        for n, line in enumerate(lines)
    )
    svg = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {height:g}" '
        f'width="{size * BOX_SIZE}" height="{height * BOX_SIZE:g}" shape-rendering="crispEdges">'
        f"<title>{escape(' — '.join(lines) or content)}</title>"
        f'<rect width="{size}" height="{height:g}" fill="#fff"/>'
        f'<path d="{"".join(runs)}" fill="#000"/>{texts}</svg>'
    )
    return svg.encode()


@dataclass(frozen=True)
class QRFile:
    name: str
    content: bytes
    content_type: str


def placement_qr(placement: Placement, fmt: str) -> QRFile:
    """The printable code for one placement, as "png" or "svg"."""
    caption = [placement.campaign.name, placement.name]
    content_type = {"png": "image/png", "svg": "image/svg+xml"}[fmt]
    if placement.qr_image:
        with placement.qr_image.open("rb") as stored:
            drawn = stored.read()
        content = (render_image_png if fmt == "png" else render_image_svg)(drawn, caption)
    else:
        content = (render_png if fmt == "png" else render_svg)(placement.qr_content(), caption)
    return QRFile(name=qr_filename(placement, fmt), content=content, content_type=content_type)


def qr_filename(placement: Placement, fmt: str) -> str:
    slug = slugify(placement.name) or "placement"
    return f"{placement.campaign.code}-{placement.scene}-{slug}.{fmt}"


def placements_zip(placements: Iterable[Placement]) -> bytes:
    """A ZIP with a PNG and an SVG per placement, in one folder per campaign."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for placement in placements:
            for fmt in ("png", "svg"):
                qr = placement_qr(placement, fmt)
                archive.writestr(f"{placement.campaign.code}/{qr.name}", qr.content)
    return out.getvalue()
