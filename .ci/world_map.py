"""Regenerate shortener/static/world.svg and shortener/country_names.json from @svg-maps/world.

    npm pack @svg-maps/world@2.0.0 && tar xzf svg-maps-world-2.0.0.tgz
    python .ci/world_map.py package/index.js

The map (CC BY 4.0, Victor Cazanave, svg-maps) is kept with its coordinates rounded to one
decimal (a tenth of a unit of its 1010x666 view box is below a pixel at the size the link page
draws it), which halves the file. Each country is a path whose id is its ISO 3166-1 alpha-2 code
(upper case, as the clicks keep it), inside <g id="world">, with no fill of its own: the page
draws it with <use href="/static/world.svg#world"> and colours each country it has clicks from.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Names the map's data has in an older or longer form than people use now, and the two ISO
# codes it has no shape for (named all the same: clicks come from them).
NAMES = {
    "MK": "North Macedonia",
    "SZ": "Eswatini",
    "CZ": "Czechia",
    "LA": "Laos",
    "AQ": "Antarctica",
    "UM": "U.S. Outlying Islands",
}
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def _round(path: str) -> str:
    def one(match: re.Match[str]) -> str:
        text = f"{float(match.group()):.1f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text

    return NUMBER.sub(one, path)


def main(source: str) -> None:
    text = Path(source).read_text(encoding="utf-8")
    data = json.loads(text[text.index("{") :].rstrip().rstrip(";"))
    paths = []
    names = {}
    for place in data["locations"]:
        code = place["id"].upper()
        if len(code) == 2 and code not in ("GO", "JU"):  # shapes that are no ISO country
            names[code] = " ".join(place["name"].split())
        paths.append(f'<path id="{code}" d="{_round(place["path"])}"/>')
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="{}">\n'
        "<!-- Map of the World from svg-maps (https://github.com/VictorCazanave/svg-maps), "
        "by Victor Cazanave, CC BY 4.0 (world.LICENSE.md); coordinates rounded by "
        ".ci/world_map.py. -->\n"
        '<g id="world">\n{}\n</g>\n</svg>\n'
    ).format(data["viewBox"], "\n".join(paths))
    (ROOT / "shortener/static/world.svg").write_text(svg, encoding="utf-8")
    (ROOT / "shortener/country_names.json").write_text(
        json.dumps(dict(sorted((names | NAMES).items())), indent=0, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main(sys.argv[1])
