"""Template variables → rendered templates → the Ignition fragment (pure).

The variables themselves come from :mod:`igngen.render.variables`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def build_fragment(
    variables: Mapping[str, Any],
    *,
    template_dirs: Sequence[str],
    disabled: Sequence[str],
    spec: str,
) -> tuple[dict[str, Any], list[str]]:
    """The fragment and its validation's warnings (lines ``fragment#POINTER: text``)."""
    from igngen.render.templating import render_fragment_checked

    return render_fragment_checked(
        variables, search_dirs=template_dirs, disabled=disabled, spec=spec
    )
