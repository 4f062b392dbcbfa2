"""How a person's name is shown on pages and in mail (docs/i18n.md)."""

import re

# CJK Unified Ideographs (with extension A) and the compatibility block: enough to tell a
# Chinese, Japanese or Korean-hanja name from a Latin one.
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def person_name(user) -> str:
    """The name to show for a user: family name first with no space for a CJK name (王芳,
    not "芳 王"), "given family" otherwise, the username when no name is set. The order
    follows the name, not the interface language: 王芳 stays 王芳 on an English page."""
    given = (getattr(user, "first_name", "") or "").strip()
    family = (getattr(user, "last_name", "") or "").strip()
    if not given and not family:
        return user.get_username()
    if _CJK.search(given + family):
        return family + given
    return " ".join(part for part in (given, family) if part)
