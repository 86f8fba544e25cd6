"""`report.html`: one self-contained interactive page per run, from the stored rows only.

Hand-written vanilla JavaScript drawing inline SVG, with the data embedded as JSON: no library,
no CDN, so the page works offline and stays small: on a 15-scenario, 16-model frame the first,
curves-only page measured 87 kB in 0.7 s, against 5.0 MB in 1.9 s for plotly with its bundle
embedded and 1.1 MB in 2.8 s for altair/Vega-Lite inline (README, "Interactive report"); with the
per-scenario table and the panel's curves it is 220 kB there, and 1.7 MB for results/paper (151
scenarios, 69 models; it loads in about 0.4 s in headless Chromium).

The page opens on the answer (report.md's Summary: the headline estimates with their intervals),
then the leaderboard (the panel first, ranked, with rank intervals; reference rows after) and
accuracy and worst-group accuracy against shift. The filters (scenario, model, paradigm, group)
apply to the table and the charts alike: a scenario shows that scenario's means over seeds and
ranks within it. The charts draw the four group means by default (panel fits, flagged fits
excluded, as the PNG group summary) and, on a toggle, one line per model; either way a line is
the mean over the selected scenarios, families weighing equally, at the shift levels every one
of its scenarios lists (so every point averages over the same scenarios). Colours are the PNGs':
groups as the group summary, models as the per-model figures.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.colors import to_hex
from spurbench.registry import GROUPS
from spurbench.report import style
from spurbench.report.leaderboard import DISPLAYED, SORT_KEY, leaderboard, scenario_values
from spurbench.report.prepare import at_largest_n_train, model_order, panel, usable, with_shift_levels
from spurbench.report.summaries import group_colour

HTML_NAME = "report.html"
CURVE_METRICS = {"accuracy": "accuracy", "worst_group_accuracy": "worst-group accuracy"}
FILTERS = ("scenario", "model", "paradigm", "group")
VIEWS = ("groups", "models")  # what a chart line is; the first is the default
DASHES = {"generative": "", "discriminative": "6,2", "oracle": "2,2"}  # as the PNGs' line styles

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}p,#summary{max-width:1100px}
#summary{background:#f7f7f4;border-left:4px solid #888;padding:4px 16px;margin-bottom:16px}
#summary img{max-width:min(100%,640px)}
table{border-collapse:collapse;margin:8px 0 24px}
th,td{padding:3px 10px;border-bottom:1px solid #ddd;white-space:nowrap}
th{cursor:pointer;background:#f4f4f4;user-select:none}td.num{text-align:right}
tr.reference td{color:#777;font-style:italic}tr.first-reference td{border-top:2px solid #999}
label{margin-right:14px}.charts{display:flex;flex-wrap:wrap;gap:24px}
svg text{font-size:11px}.axis{stroke:#888}.legend{font-size:12px;max-width:900px}
"""

_SCRIPT = """
const DATA = JSON.parse(document.getElementById('data').textContent);
let sortKey = null, sortDescending = true;  // null: the leaderboard's own order (panel first, by rank)
const chosen = () => Object.fromEntries(DATA.filters.map(f =>
  [f, document.getElementById('filter-' + f).value]));
const view = () => document.querySelector('input[name=view]:checked').value;
const mean = xs => xs.reduce((a, b) => a + b, 0) / xs.length;

function fmt(r, c) {  // a mean with the half-width of its interval; a rank with its interval
  const v = r[c];
  if (v === null || v === undefined) return '';
  if (c === 'rank') {
    const tied = r.rank_low !== null && r.rank_low !== r.rank_high;
    return tied ? `${v} (tied ${r.rank_low}-${r.rank_high})` : String(v);
  }
  if (typeof v !== 'number' || DATA.integers.includes(c)) return String(v);
  const low = r[c + '_ci_low'], high = r[c + '_ci_high'];
  const half = low === null || low === undefined ? '' : ` \\u00B1 ${((high - low) / 2).toFixed(3)}`;
  return v.toFixed(3) + half;
}

function tableRows() {  // the leaderboard, or one scenario's means over seeds, under the filters
  const pick = chosen();
  let rows = DATA.leaderboard;
  if (pick.scenario !== '') {
    const info = Object.fromEntries(DATA.leaderboard.map(r => [r.model, r]));
    rows = DATA.per_scenario.filter(r => r.scenario === pick.scenario && info[r.model]).map(r => {
      const base = info[r.model];
      return {...r, paradigm: base.paradigm, group: base.group, reference: base.reference, scenarios: 1,
              families: 1};
    });
    const ranked = rows.filter(r => r.reference === 0 && r[DATA.sort_key] !== null);
    rows.forEach(r => {  // rank within the scenario (1 = best mean, ties share the best); no interval
      r.rank = r.reference === 0 && r[DATA.sort_key] !== null ?
        1 + ranked.filter(o => o[DATA.sort_key] > r[DATA.sort_key]).length : null;
      r.rank_low = r.rank_high = null;
    });
    rows.sort((a, b) => a.reference - b.reference || (b[DATA.sort_key] ?? -1) - (a[DATA.sort_key] ?? -1)
              || (a.model < b.model ? -1 : 1));
  }
  return rows.filter(r => ['model', 'paradigm', 'group'].every(f => pick[f] === '' || r[f] === pick[f]));
}

function drawTable() {
  let rows = tableRows();
  if (sortKey !== null) {  // the panel stays first: a header sorts within the panel and the rest
    rows = [...rows].sort((a, b) => {
      const x = a[sortKey], y = b[sortKey];
      const order = x === y ? 0 : (x === null ? 1 : (y === null ? -1 : (x < y ? -1 : 1)));
      return a.reference - b.reference || (sortDescending ? -order : order);
    });
  }
  const head = DATA.columns.map(c => `<th data-key="${c}">${c}${c === sortKey ?
    (sortDescending ? ' \\u25BC' : ' \\u25B2') : ''}</th>`).join('');
  const body = rows.map((r, i) => {
    const first = i === 0 || !rows[i - 1].reference;
    const kind = r.reference ? 'reference' + (first ? ' first-reference' : '') : 'panel';
    return `<tr class="${kind}">` + DATA.columns.map(c =>
      `<td class="${typeof r[c] === 'number' ? 'num' : ''}">${fmt(r, c)}</td>`).join('') + '</tr>';
  }).join('');
  const table = document.getElementById('leaderboard');
  table.innerHTML = `<thead><tr>${head}</tr></thead><tbody>${body}</tbody>`;
  table.querySelectorAll('th').forEach(th => th.addEventListener('click', () => {
    sortDescending = th.dataset.key === sortKey ? !sortDescending : true;
    sortKey = th.dataset.key;
    drawTable();
  }));
  const scenario = chosen().scenario;
  document.getElementById('table-note').textContent = scenario === '' ?
    'Means \\u00B1 the half-width of their 95% t interval over families.' :
    `Scenario ${scenario}: means over its seeds and ranks within it (no intervals over one scenario).`;
}

function lines(curves, key) {  // per key: the mean over scenarios (families equally) at shared levels
  const byKey = {};
  curves.forEach(c => { (byKey[c[key]] = byKey[c[key]] || []).push(c); });
  return Object.entries(byKey).map(([name, members]) => {
    const scenarios = [...new Set(members.map(c => c.scenario))];
    const levels = members[0].shift.filter(s => scenarios.every(sc =>
      members.some(c => c.scenario === sc && c.shift.includes(s))));
    const line = {name, shift: levels, n: scenarios.length};
    Object.keys(DATA.metrics).forEach(m => {
      line[m] = levels.map(s => {
        const families = {};
        members.forEach(c => {
          const v = c[m][c.shift.indexOf(s)];
          if (v === null) return;
          const f = (families[c.family] = families[c.family] || {});
          (f[c.scenario] = f[c.scenario] || []).push(v);  // a scenario: the mean of its models
        });
        const values = Object.values(families).map(f => mean(Object.values(f).map(mean)));
        return values.length ? mean(values) : null;
      });
    });
    return line;
  }).sort((a, b) => (DATA.order.indexOf(a.name) - DATA.order.indexOf(b.name)) || (a.name < b.name ? -1 : 1));
}

function selectedLines() {
  const pick = chosen(), groups = view() === 'groups';
  const curves = (groups ? DATA.panel_curves : DATA.curves)
    .filter(c => DATA.filters.every(f => pick[f] === '' || c[f] === pick[f]));
  return lines(curves, groups ? 'group' : 'model').map(l => ({...l,
    colour: DATA.colours[l.name] || '#444', dashes: DATA.dashes[l.name] || ''}));
}

function drawChart(svg, metric, series) {
  const W = 440, H = 300, L = 44, B = 34, T = 10, R = 10;
  const x = s => L + s * (W - L - R), y = v => T + (1 - v) * (H - T - B);
  let out = `<line class="axis" x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}"/>` +
            `<line class="axis" x1="${L}" y1="${T}" x2="${L}" y2="${H - B}"/>`;
  [0, 0.25, 0.5, 0.75, 1].forEach(t => {
    out += `<text x="${x(t)}" y="${H - B + 14}" text-anchor="middle">${t}</text>` +
           `<text x="${L - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`;
  });
  out += `<text x="${(L + W) / 2}" y="${H - 4}" text-anchor="middle">shift level</text>`;
  series.forEach(l => {
    const points = l.shift.map((s, j) => [s, l[metric][j]]).filter(p => p[1] !== null);
    const d = points.map((p, j) => (j ? 'L' : 'M') + x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1)).join('');
    out += `<path class="series" data-series="${l.name}" d="${d}" fill="none" stroke="${l.colour}" ` +
           `stroke-width="${view() === 'groups' ? 2.2 : 1.4}"` +
           `${l.dashes ? ` stroke-dasharray="${l.dashes}"` : ''}>` +
           `<title>${l.name}: mean over ${l.n} scenario(s)</title></path>`;
  });
  svg.innerHTML = out;
}

function drawCharts() {
  const series = selectedLines();
  Object.keys(DATA.metrics).forEach(m => drawChart(document.getElementById('chart-' + m), m, series));
  const what = view() === 'groups' ? 'group means (panel fits, flagged fits excluded)' : 'models';
  document.getElementById('legend').innerHTML = `${series.length} lines: ${what}. ` + series.map(l =>
    `<span style="color:${l.colour}">\\u25A0</span> ${l.name}`).join(' ');
}

function drawAll() { drawTable(); drawCharts(); }

DATA.filters.forEach(f => {
  const select = document.getElementById('filter-' + f);
  const values = [...new Set([...DATA.curves.map(c => c[f]), ...DATA.leaderboard.map(r => r[f])])]
    .filter(v => v !== undefined && v !== null).sort();
  select.innerHTML = '<option value="">all</option>' + values.map(v => `<option>${v}</option>`).join('');
  select.addEventListener('change', drawAll);
});
document.querySelectorAll('input[name=view]').forEach(r => r.addEventListener('change', drawCharts));
drawAll();
"""

_INLINE = (  # Markdown spans of report.md's Summary -> HTML, applied to escaped text in this order
    (re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)"), r'<img alt="\1" src="\2">'),
    (re.compile(r"\[([^\]]+)\]\(#([^)\s]+)\)"), r'<a href="report.md#\2">\1</a>'),
    (re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)"), r'<a href="\2">\1</a>'),
    (re.compile(r"\*\*(.+?)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"\*(.+?)\*"), r"<em>\1</em>"),
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
)


def markdown_html(lines: Sequence[str]) -> str:
    """The small Markdown of report.md's Summary as HTML: paragraphs, `- ` bullets, bold, italics,
    code, links (in-page anchors point into report.md) and images."""
    out, items, paragraph = [], [], []

    def inline(text: str) -> str:
        text = html.escape(text, quote=False)
        for pattern, replacement in _INLINE:
            text = pattern.sub(replacement, text)
        return text

    def flush() -> None:
        if paragraph:
            out.append(f"<p>{inline(' '.join(paragraph))}</p>")
            paragraph.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in lines:
        if line.startswith("## "):
            flush()
            out.append(f"<h2>{inline(line[3:])}</h2>")
        elif line.startswith("- "):
            if paragraph:
                flush()
            items.append(line[2:])
        elif line.strip():
            if items:
                flush()
            paragraph.append(line.strip())
        else:
            flush()
    flush()
    return "".join(out)


def _curve_records(rows: pd.DataFrame) -> list[dict]:
    """Per (scenario, model): mean accuracy and worst-group accuracy over seeds at each shift."""
    rows = rows.assign(group=rows["group"].astype(object).fillna("(none)"))  # rows stored before groups
    keys = ["family", "scenario", "model", "paradigm", "group"]
    means = rows.groupby([*keys, "shift"])[list(CURVE_METRICS)].mean().reset_index()
    curves = []
    for values, part in means.groupby(keys):
        curve = dict(zip(keys, values, strict=True)) | {"shift": part["shift"].round(6).tolist()}
        for metric in CURVE_METRICS:
            curve[metric] = [None if pd.isna(v) else round(float(v), 6) for v in part[metric]]
        curves.append(curve)
    return curves


def _colours(frame: pd.DataFrame) -> dict[str, str]:
    """Hex colours as the PNGs draw them: each group as the group summary, each model as the
    per-model figures (a shade of its paradigm's colour family)."""
    models = sorted(frame["model"].unique())
    paradigm_of = dict(frame[["model", "paradigm"]].drop_duplicates().itertuples(index=False))
    known = [m for m in models if paradigm_of[m] in style.COLORMAPS]
    palette = style.model_styles(known, paradigm_of)["palette"]
    return {g: to_hex(group_colour(g)) for g in GROUPS} | {m: to_hex(c) for m, c in palette.items()}


def _json_for_script(payload: dict) -> str:
    """JSON that cannot close the <script> element it sits in."""
    return json.dumps(payload, allow_nan=False).replace("</", "<\\/")


def _records(frame: pd.DataFrame) -> list[dict]:
    frame = frame.astype(object)
    return frame.where(frame.notna(), None).to_dict("records")


def render_html(frame: pd.DataFrame, title: str, summary: Sequence[str] = ()) -> str:
    """The page for a results frame (see the module docstring); `summary` is report.md's Summary
    section as Markdown lines, shown first."""
    defaults = {"family": frame["scenario"], "fit_flags": "", "reference": 0}  # frames older than a column
    frame = frame.assign(**{c: v for c, v in defaults.items() if c not in frame})
    shifted = at_largest_n_train(with_shift_levels(usable(frame)))
    per_scenario = scenario_values(frame).round(6)
    paradigm_of = dict(shifted[["model", "paradigm"]].drop_duplicates().itertuples(index=False))
    payload = {"leaderboard": _records(leaderboard(frame)), "columns": list(DISPLAYED),
               "integers": ["reference", "scenarios", "families", "rank"], "sort_key": SORT_KEY,
               "per_scenario": _records(per_scenario), "curves": _curve_records(shifted),
               "panel_curves": _curve_records(panel(shifted)), "metrics": CURVE_METRICS,
               "filters": list(FILTERS), "colours": _colours(shifted),
               "dashes": {g: DASHES[g.rsplit("_", 1)[1]] for g in GROUPS}
               | {m: DASHES.get(p, "") for m, p in paradigm_of.items()},
               "order": [*GROUPS, *model_order(shifted)]}
    filters = "".join(f'<label>{f} <select id="filter-{f}"></select></label>' for f in FILTERS)
    views = "".join(f'<label><input type="radio" name="view" value="{v}"{" checked" if not i else ""}> '
                    f'{"group means" if v == "groups" else "individual models"}</label>'
                    for i, v in enumerate(VIEWS))
    charts = "".join(f'<figure><figcaption>{label} against shift</figcaption>'
                     f'<svg id="chart-{metric}" width="440" height="300"></svg></figure>'
                     for metric, label in CURVE_METRICS.items())
    opening = f'<section id="summary">{markdown_html(summary)}</section>' if summary else ""
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
            f'</title><style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{opening}'
            f"<div>Filters (table and charts): {filters}</div>"
            "<h2>Leaderboard</h2><p>The panel first, ranked by accuracy at the largest shift with "
            "the rank's interval (\"tied\" where it spans places); reference rows (oracles, "
            "variants, test-set-adapted) after. Each scenario at its largest training size; "
            "`spurbench leaderboard --help` defines every column; click a header to sort. "
            '<span id="table-note"></span></p><table id="leaderboard"></table>'
            f"<h2>Accuracy under shift</h2><div>Lines: {views}</div><div class=\"charts\">{charts}</div>"
            '<div id="legend" class="legend"></div>'
            f'<script id="data" type="application/json">{_json_for_script(payload)}</script>'
            f"<script>{_SCRIPT}</script></body></html>\n")


def write_html(frame: pd.DataFrame, run_dir: Path, summary: Sequence[str] = ()) -> Path:
    """Write `report.html` into `run_dir` and return its path."""
    path = Path(run_dir) / HTML_NAME
    path.write_text(render_html(frame, f"spurbench report: {Path(run_dir).name}", summary))
    return path
