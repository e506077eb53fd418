#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Check a Prometheus text exposition (version 0.0.4) as a scraper parses it:
# every sample line well-formed, its family's TYPE given once and before it,
# no sample twice, counters named *_total and not negative, histogram
# buckets cumulative and ending at +Inf = _count. Exit 1 with the reason.
import re, sys
typed, seen, hist = {}, set(), {}
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+-]+|\+Inf|NaN)$')
for line in open(sys.argv[1]):
    line = line.rstrip('\n')
    if line.startswith('# TYPE '):
        _, _, name, typ = line.split(' ')
        assert name not in typed, 'TYPE twice: ' + name
        assert typ in ('counter', 'gauge', 'histogram'), line
        typed[name] = typ
        continue
    if line.startswith('# HELP ') or not line:
        continue
    m = sample.match(line)
    assert m, 'not a sample: ' + line
    name, labels, value = m.group(1), m.group(2) or '', float(m.group(3))
    base = re.sub(r'_(bucket|sum|count)$', '', name)
    fam = name if name in typed else base
    assert fam in typed, 'sample before its TYPE: ' + line
    assert (name, labels) not in seen, 'sample twice: ' + line
    seen.add((name, labels))
    if typed[fam] == 'counter':
        assert name.endswith('_total') and value >= 0, line
    if typed[fam] == 'histogram':
        key = (fam, re.sub(r',?le="[^"]*"', '', labels).replace('{}', ''))
        h = hist.setdefault(key, {'b': [], 'count': None})
        if name.endswith('_bucket'):
            h['b'].append(value)
        elif name.endswith('_count'):
            h['count'] = value
for key, h in hist.items():
    assert h['b'] == sorted(h['b']), 'buckets not cumulative: %s' % (key,)
    assert h['b'] and h['b'][-1] == h['count'], '+Inf bucket != _count: %s' % (key,)
print('# %d families, %d samples, %d histograms' % (len(typed), len(seen), len(hist)))
