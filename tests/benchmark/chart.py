# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Draw the benchmark's results (the JSON transfer_bench.py writes) as one SVG: plain text, no plotting library.

python tests/benchmark/chart.py RESULTS_JSON OUT_SVG
"""

import json
import sys
from xml.sax.saxutils import escape

WIDTH = 960
LABEL_W = 250
VALUE_W = 190
BAR_H = 20
ROW_H = 30
PLOT_W = WIDTH - LABEL_W - VALUE_W - 20
COLORS = {'module': '#1f6feb', 'engine': '#54aeff', 'glacier-upload': '#bf8700', 'seed': '#8c959f',
          'controller': '#b6d4fb', 'startup': '#80b3ff', 'link': '#2da44e'}


def _text(x, y, s, size=13, anchor='start', weight='normal', color='#24292f'):
    return ('<text x="%.1f" y="%.1f" font-size="%d" text-anchor="%s" font-weight="%s" fill="%s">%s</text>'
            % (x, y, size, anchor, weight, color, escape(s)))


def panel(y, title, subtitle, rows, lines, unit):
    """A horizontal bar panel. rows: dicts with label, value (bar), lo/hi (range whisker, optional), text, color,
    and optional stack: [(value, color, legend)] drawn left to right instead of one bar. lines: (value, label, color)."""
    out = [_text(10, y + 18, title, 15, weight='bold'), _text(10, y + 35, subtitle, 12, color='#57606a')]
    top = y + 50
    height = ROW_H * len(rows) + 50
    peak = max([r.get('hi') or r['value'] for r in rows] + [v for v, dummy, dummy in lines] + [1e-9]) * 1.08

    def x_of(value):
        return LABEL_W + PLOT_W * value / peak

    for i, row in enumerate(rows):
        cy = top + i * ROW_H
        out.append(_text(LABEL_W - 8, cy + BAR_H - 5, row['label'], anchor='end'))
        start = 0.0
        for value, color, dummy in row.get('stack') or [(row['value'], row['color'], None)]:
            out.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s"/>'
                       % (x_of(start), cy, max(x_of(start + value) - x_of(start), 0.5), BAR_H, color))
            start += value
        if row.get('lo') is not None and row.get('hi') is not None and row['hi'] > row['lo']:
            mid = cy + BAR_H / 2
            out.append('<path d="M%.1f %.1fH%.1fM%.1f %.1fV%.1fM%.1f %.1fV%.1f" stroke="#24292f" stroke-width="1.5" fill="none"/>'
                       % (x_of(row['lo']), mid, x_of(row['hi']), x_of(row['lo']), mid - 5, mid + 5, x_of(row['hi']), mid - 5, mid + 5))
        out.append(_text(WIDTH - VALUE_W, cy + BAR_H - 5, row['text'], 12))
    bottom = top + ROW_H * len(rows)
    for n, (value, label, color) in enumerate(lines):
        x = x_of(value)
        out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2" stroke-dasharray="6 4"/>'
                   % (x, top - 6, x, bottom, color))
        out.append(_text(x, bottom + 14 + 13 * n, '%s %.3g %s' % (label, value, unit), 11, anchor='middle', color=color))
    out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#57606a"/>' % (LABEL_W, top - 6, LABEL_W, bottom))
    return '\n'.join(out), height + 13 * len(lines)


def _spread(values):
    return min(values), max(values)


def svg(data):
    """The whole chart for the JSON that transfer_bench.py writes."""
    res = data['results']
    parts = []
    y = 10
    sbs = res.get('side_by_side')
    if sbs:
        s = sbs['summary']
        names = [n for n in ('module', 'engine', 'glacier-upload', 'seed') if n in s]
        labels = {'module': 'module (ansible ad hoc, whole run)', 'engine': 'engine alone (GlacierTransfer)',
                  'glacier-upload': 'glacier-upload 2.1.2', 'seed': "seed's algorithm"}
        rows = []
        for name in names:
            lo, hi = _spread(s[name]['seconds'])
            rows.append({'label': labels[name], 'value': s[name]['median_seconds'], 'lo': lo, 'hi': hi,
                         'color': COLORS[name], 'text': '%.2f s (%.2f-%.2f)' % (s[name]['median_seconds'], lo, hi)})
        lines = []
        if 'glacier-upload' in s:
            lines.append((0.9 * s['glacier-upload']['median_seconds'], 'target 0.9 x glacier-upload:', '#cf222e'))
        if 'seed' in s:
            lines.append((0.6 * s['seed']['median_seconds'], 'target 0.6 x seed:', '#8250df'))
        if 'bound_seconds' in s.get('module', {}):
            lines.append((s['module']['bound_seconds'], "bound for the module (its start-up + the endpoint's CPU):", '#24292f'))
        title = 'Upload of %d MiB: whole-process wall time (s), lower is better' % sbs['size_mib']
        subtitle = '%d MiB parts, %d threads (the seed: sequential, %d MiB parts); client pinned to CPU %s, endpoint to CPU %s; ' % (
            sbs['part_mib'], sbs['threads'], sbs['seed_part_mib'], sbs['client_cpu'], sbs['endpoint_cpu'])
        subtitle += 'bar: median of %d rounds, whisker: range' % len(s[names[0]]['seconds'])
        fragment, h = panel(y, title, subtitle, rows, lines, 's')
        parts.append(fragment)
        y += h + 24

        rows = []
        floor = res['floor']['cpu_seconds_per_gib']
        if 'module' in s:
            m = s['module']
            stack = [(m['median_transfer_cpu_per_gib'], COLORS['module'], 'transfer'),
                     (max(m['median_module_cpu_per_gib'] - m['median_transfer_cpu_per_gib'], 0), COLORS['startup'], 'start-up'),
                     (max(m['median_cpu_per_gib'] - m['median_module_cpu_per_gib'], 0), COLORS['controller'], 'controller')]
            rows.append({'label': 'module (whole run)', 'value': m['median_cpu_per_gib'], 'stack': stack,
                         'text': '%.2f s (Ansible controller %.2f)' % (m['median_cpu_per_gib'], stack[2][0])})
            rows.append({'label': 'module process', 'value': m['median_module_cpu_per_gib'], 'stack': stack[:2],
                         'text': '%.2f s (start-up %.2f)' % (m['median_module_cpu_per_gib'], stack[1][0])})
            rows.append({'label': 'module transfer (no start-up)', 'value': m['median_transfer_cpu_per_gib'], 'stack': stack[:1],
                         'text': '%.2f s' % m['median_transfer_cpu_per_gib']})
        for name in names[1:]:
            lo, hi = _spread(s[name]['cpu_per_gib'])
            rows.append({'label': labels[name], 'value': s[name]['median_cpu_per_gib'], 'lo': lo, 'hi': hi,
                         'color': COLORS[name], 'text': '%.2f s (%.2f-%.2f)' % (s[name]['median_cpu_per_gib'], lo, hi)})
        lines = [(floor, 'floor, two SHA-256 passes:', '#2da44e'), (1.4 * floor, 'target 1.4 x floor:', '#cf222e')]
        if 'transport' in res:
            lines.append((floor + res['transport']['cpu_seconds_per_gib'], 'floor + reading and writing to a socket:', '#24292f'))
        fragment, h = panel(y, 'Client CPU per GiB uploaded (s), lower is better',
                            'user + system time of the client process tree / GiB; the module split into its transfer, its '
                            "process's start-up and the Ansible controller", rows, lines, 's')
        parts.append(fragment)
        y += h + 24

    wan_rows = []
    for key, label in (('wan', 'upload (module engine)'), ('restore', 'restore (retrieve engine)')):
        if key in res:
            r = res[key]
            wan_rows.append({'label': '%s, %d MiB' % (label, r['size'] / 1048576), 'value': r['mb_per_s'], 'color': COLORS['link'],
                             'text': '%.1f MB/s = %.0f%% of cap' % (r['mb_per_s'], 100 * r['share'])})
    if wan_rows:
        cap = res['wan']['aggregate_cap_mb_per_s']
        lines = [(cap, "link's cap:", '#24292f'), (0.85 * cap, 'target 85% of cap:', '#cf222e')]
        subtitle = 'the endpoint adds %d ms to every request and caps each of the 4 connections at %.1f MB/s' % (
            res['wan']['latency_ms'], res['wan']['bandwidth'] / 1e6)
        fragment, h = panel(y, "Simulated WAN: throughput (MB/s) against the link's cap, higher is better", subtitle, wan_rows, lines, 'MB/s')
        parts.append(fragment)
        y += h + 24

    machine = res.get('machine', {})
    note = 'Measured %s on %s CPUs; load average %s at the start, %s at the end.' % (
        machine.get('date', '?'), machine.get('cpus', '?'), machine.get('load_start', '?'), machine.get('load_end', '?'))
    parts.append(_text(10, y + 4, note, 11, color='#57606a'))
    y += 14
    return ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif">\n'
            '<rect width="100%%" height="100%%" fill="#ffffff"/>\n%s\n</svg>\n' % (WIDTH, y, WIDTH, y, '\n'.join(parts)))


def write(data, path):
    with open(path, 'w', encoding='utf-8') as fh:
        fh.write(svg(data))


if __name__ == '__main__':
    with open(sys.argv[1], encoding='utf-8') as source:
        write(json.load(source), sys.argv[2])
