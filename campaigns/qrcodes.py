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
import ipaddress
import re
import textwrap
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import noto_cjk_sans_otc
import qrcode
from django.conf import settings
from django.utils.text import slugify
from django.utils.translation import gettext as _
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

BOX_SIZE = 10  # pixels per module in the default PNG: ~300 px wide for a short link
BORDER = 4  # the quiet zone the QR standard asks for, in modules
CAPTION_FONT_SIZE = 18  # at BOX_SIZE; a larger PNG scales the caption with the modules
CAPTION_LINE_HEIGHT = 24
# `?size=`: at least 1,200 px is what a print shop asks for (A5 poster at 300 dpi is ~1,750 px);
# the upper bound keeps one request's work small (4,000² px is ~16 MB of pixels).
PNG_MIN_SIZE = 100
PNG_MAX_SIZE = 4000
# The caption font ships with the project's requirements (Noto Sans CJK, OFL), so Chinese
# campaign names render on any machine; QR_CAPTION_FONT overrides it. Index 2 of the
# collection is the Simplified Chinese face.
PACKAGED_FONT = str(noto_cjk_sans_otc.FONT_PATH)
PACKAGED_FONT_INDEX = 2


def _matrix(content: str) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=BORDER)
    code.add_data(content)
    code.make(fit=True)
    return code.get_matrix()


@functools.cache
def caption_font(size: int = CAPTION_FONT_SIZE) -> ImageFont.FreeTypeFont:
    override = settings.QR_CAPTION_FONT
    if override and Path(override).is_file():
        return ImageFont.truetype(override, size)
    return ImageFont.truetype(PACKAGED_FONT, size, index=PACKAGED_FONT_INDEX)


def _fit(text: str, font, width: int) -> str:
    """Shorten a caption line with an ellipsis so it fits under the code."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _png_with_caption(code: Image.Image, caption: Sequence[str]) -> bytes:
    """`code` with the caption lines centred underneath, as PNG."""
    canvas = _with_caption(code, caption)
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _with_caption(code: Image.Image, caption: Sequence[str]) -> Image.Image:
    code = code.convert("L")
    size = code.width
    lines = [line for line in caption if line]
    if not lines:
        return code
    scale = max(1.0, size / 300)  # the caption grows with the code, so a print keeps its proportions
    font = caption_font(round(CAPTION_FONT_SIZE * scale))
    line_height = round(CAPTION_LINE_HEIGHT * scale)
    margin = round(BOX_SIZE * scale)
    canvas = Image.new("L", (size, code.height + line_height * len(lines) + margin), 255)
    canvas.paste(code, (0, 0))
    draw = ImageDraw.Draw(canvas)
    for n, line in enumerate(lines):
        text = _fit(line, font, size - 2 * margin)
        draw.text((size / 2, code.height + n * line_height), text, fill=0, font=font, anchor="mt")
    return canvas


def check_png_size(size: int | None) -> None:
    if size is not None and not PNG_MIN_SIZE <= size <= PNG_MAX_SIZE:
        raise ValueError(
            _("size must be between %(min)d and %(max)d pixels.") % {"min": PNG_MIN_SIZE, "max": PNG_MAX_SIZE}
        )


def code_image(content: str, size: int | None = None) -> Image.Image:
    """The bare QR code, whole pixels per module: at least `size` px wide when given."""
    matrix = _matrix(content)
    modules = len(matrix)
    box = BOX_SIZE if size is None else max(1, -(-size // modules))
    code = Image.new("1", (modules, modules), 1)
    code.putdata([0 if dark else 1 for row in matrix for dark in row])
    return code.resize((modules * box, modules * box), Image.Resampling.NEAREST)


def render_png(content: str, caption: Sequence[str] = (), size: int | None = None) -> bytes:
    """The QR code for `content` as PNG with the caption lines centred underneath."""
    check_png_size(size)
    return _png_with_caption(code_image(content, size), caption)


def drawn_image(image: bytes, size: int | None = None) -> Image.Image:
    """A code image WeChat drew (Mini Program code), scaled to `size` px wide when given."""
    with Image.open(io.BytesIO(image)) as drawn:
        picture = drawn.convert("RGBA").convert("L")
    if size is not None and size != picture.width:
        picture = picture.resize((size, round(picture.height * size / picture.width)), Image.Resampling.LANCZOS)
    return picture


def render_image_png(image: bytes, caption: Sequence[str] = (), size: int | None = None) -> bytes:
    """A code image WeChat drew (Mini Program code) with our caption underneath."""
    check_png_size(size)
    return _png_with_caption(drawn_image(image, size), caption)


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


def placement_caption(placement: Placement) -> list[str]:
    return [placement.campaign.name, placement.name]


def placement_qr(placement: Placement, fmt: str, size: int | None = None) -> QRFile:
    """The printable code for one placement, as "png" (optionally `size` px wide) or "svg"."""
    caption = placement_caption(placement)
    content_type = {"png": "image/png", "svg": "image/svg+xml"}[fmt]
    if placement.qr_image:
        with placement.qr_image.open("rb") as stored:
            drawn = stored.read()
        content = render_image_png(drawn, caption, size) if fmt == "png" else render_image_svg(drawn, caption)
    else:
        content = (
            render_png(placement.qr_content(), caption, size)
            if fmt == "png"
            else render_svg(placement.qr_content(), caption)
        )
    return QRFile(name=qr_filename(placement, fmt), content=content, content_type=content_type)


def qr_filename(placement: Placement, fmt: str) -> str:
    """`<campaign code>-<scene>-<placement name>.<fmt>`, Chinese names kept (春节海报, not "placement")."""
    slug = slugify(placement.name, allow_unicode=True) or "placement"
    return f"{placement.campaign.code}-{placement.scene}-{slug}.{fmt}"


def placements_zip(placements: Iterable[Placement]) -> bytes:
    """A ZIP with a PNG and an SVG per placement, in one folder per campaign. Non-ASCII names
    are stored as UTF-8 with the archive's UTF-8 flag (zipfile sets it), so 春节 stays 春节 when unzipped."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for placement in placements:
            for fmt in ("png", "svg"):
                qr = placement_qr(placement, fmt)
                archive.writestr(f"{placement.campaign.code}/{qr.name}", qr.content)
    return out.getvalue()


# --- reachable from a phone -----------------------------------------------------------


def public_base_is_loopback() -> bool:
    host = urlsplit(settings.PUBLIC_BASE_URL).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def loopback_warning() -> str:
    """Empty, or why phones cannot open our short-link codes and how to fix it."""
    if not public_base_is_loopback():
        return ""
    return _(
        "PUBLIC_BASE_URL is %(url)s, a loopback address: phones cannot open these QR codes. "
        "Set PUBLIC_BASE_URL to an address phones reach, e.g. this machine's LAN address "
        "(make run HOST=0.0.0.0 PUBLIC_BASE_URL=http://192.168.1.23:8000) or your public domain."
    ) % {"url": settings.PUBLIC_BASE_URL}


# --- print sheet ------------------------------------------------------------------------

SHEET_DPI = 300
SHEET_SIZE = (2480, 3508)  # A4 at 300 dpi
SHEET_MARGIN = 150  # ~13 mm: inside what office printers can reach
SHEET_COLUMNS, SHEET_ROWS = 2, 3
SHEET_HEADER = 130  # title and, on a loopback PUBLIC_BASE_URL, the warning
SHEET_CODE_SIZE = 700  # ~59 mm: scans from a metre away, leaves room for four text lines
SHEET_MAX_PLACEMENTS = 300  # 50 pages; bounds one request's work


def _sheet_cell(placement: Placement, width: int, height: int) -> Image.Image:
    """One code with what a print shop and the person sticking it up need to tell it apart:
    campaign, placement, scene and kind, and the caption printed under the code."""
    cell = Image.new("L", (width, height), 255)
    if placement.qr_image:
        with placement.qr_image.open("rb") as stored:
            code = drawn_image(stored.read(), SHEET_CODE_SIZE)
    else:
        code = code_image(placement.qr_content(), SHEET_CODE_SIZE)
        code = code.convert("L").resize((SHEET_CODE_SIZE, SHEET_CODE_SIZE), Image.Resampling.NEAREST)
    code = _with_caption(code, [placement.caption])
    cell.paste(code, ((width - code.width) // 2, 0))
    draw = ImageDraw.Draw(cell)
    lines = [
        (caption_font(44), placement.campaign.name),
        (caption_font(40), placement.name),
        (
            caption_font(32),
            _("Scene %(scene)s · %(kind)s · %(code)s")
            % {"scene": placement.scene, "kind": placement.get_qr_kind_display(), "code": placement.campaign.code},
        ),
        (caption_font(26), placement.qr_content()),
    ]
    y = code.height + 16
    for font, text in lines:
        draw.text((width / 2, y), _fit(text, font, width - 40), fill=0, font=font, anchor="mt")
        y += round(font.size * 1.35)
    draw.rectangle((0, 0, width - 1, height - 1), outline=200, width=2)  # a cutting guide
    return cell


def print_sheet_title(placements: Sequence[Placement]) -> tuple[str, str]:
    """The sheet's heading and file name: the campaign's when all codes share one."""
    campaigns = {placement.campaign_id: placement.campaign for placement in placements}
    if len(campaigns) == 1:
        (campaign,) = campaigns.values()
        return (
            f"{campaign.code} {campaign.name}",
            f"{campaign.code}-{slugify(campaign.name, allow_unicode=True)}-print.pdf",
        )
    return _("QR codes"), "qr-codes-print.pdf"


def print_sheet_pdf(placements: Sequence[Placement], title: str = "") -> bytes:
    """An A4 PDF with six codes per page (two across, three down), each with its campaign,
    placement, scene and caption; raster at 300 dpi, which is what print shops ask for."""
    if not placements:
        raise ValueError(_("No placements to print."))
    per_page = SHEET_COLUMNS * SHEET_ROWS
    page_count = -(-len(placements) // per_page)
    cell_width = (SHEET_SIZE[0] - 2 * SHEET_MARGIN) // SHEET_COLUMNS
    cell_height = (SHEET_SIZE[1] - 2 * SHEET_MARGIN - SHEET_HEADER) // SHEET_ROWS
    header_font = caption_font(30)
    warning = loopback_warning() if any(not p.qr_url and not p.qr_image for p in placements) else ""
    pages = []
    for page_number in range(page_count):
        page = Image.new("L", SHEET_SIZE, 255)
        draw = ImageDraw.Draw(page)
        header = _("%(title)s — page %(page)d of %(pages)d") % {
            "title": title or _("QR codes"),
            "page": page_number + 1,
            "pages": page_count,
        }
        draw.text((SHEET_MARGIN, SHEET_MARGIN), header, fill=0, font=header_font)
        for n, line in enumerate(textwrap.wrap(warning, 150)):
            draw.text((SHEET_MARGIN, SHEET_MARGIN + 42 + 28 * n), line, fill=0, font=caption_font(22))
        for slot, placement in enumerate(placements[page_number * per_page : (page_number + 1) * per_page]):
            row, column = divmod(slot, SHEET_COLUMNS)
            cell = _sheet_cell(placement, cell_width - 20, cell_height - 20)
            page.paste(
                cell, (SHEET_MARGIN + column * cell_width + 10, SHEET_MARGIN + SHEET_HEADER + row * cell_height + 10)
            )
        pages.append(page)
    out = io.BytesIO()
    pages[0].save(out, format="PDF", save_all=True, append_images=pages[1:], resolution=SHEET_DPI, title=title)
    return out.getvalue()
