"""Small graphs drawn without crossing edges: ranks and orders worked out here, pinned into the DOT by viz.

dot (and graphviz-pure, its port) puts every node on a rank (a column, drawn left to right), orders
each rank to reduce crossings, and with ``ordering=in`` keeps each op's operands in argument order,
the first on top. In tanh(a*b + exp(a)) that order forces a crossing while a and b share a column:
a feeds mul (on top) and exp (below), b feeds mul only, so a's edge down to exp crosses b's edge up
to mul, whatever order the column takes. Drawn one rank later, b sits between a's two edges and
nothing crosses. So for a small graph this module searches for ranks that let every rank be ordered
without crossings (moving a node one rank at a time, starting from each node packed towards its
sources or towards its uses), and orders each rank itself; viz writes the ranks as each edge's
``minlen`` and the orders as invisible edges within each rank, which dot and graphviz-pure both keep.

Crossings are counted in the layered graph: an edge spanning several ranks passes through one
point per rank between, and two edges between the same ranks cross when their ends are in opposite
orders. Edges that share an end never cross here. Some graphs cannot avoid a crossing while every
op keeps its operands in order (a 2-2-1 network: both hidden neurons add x0's term before x1's).
"""

from __future__ import annotations

import functools
import heapq
import itertools
from collections import Counter
from typing import NamedTuple

SMALL = 60  # nodes of the DOT graph (a Value and its op are two) up to which a picture is planned here
# (a 2-2-1 network has 39, a 2-3-1 57; planning takes 0.05-0.1 s for those, a few ms for most graphs)
ROUNDS = 3  # passes of the search that moves one node a rank at a time
SEARCHED = 4  # crossings up to which the search runs
KEPT = 2  # crossings a plan may leave; with more, the drawing is dot's own. On 160 random small
# graphs the plans so kept drew fewer crossings than dot's own in 41, as many in 118, more in one
# (3 against 1: dot routes the bends of long edges its own way); a 2-3-1 network 2 against 13.
TRIALS = 16  # layerings the search tries from each start, at most (a few milliseconds each)


class Plan(NamedTuple):
    """Where a small graph's nodes go: ``minlen`` of each (source, target) edge (only those over 1), the
    real nodes of each rank in order (top to bottom for rankdir=LR), and the crossings left."""
    minlen: dict
    ranks: tuple
    crossings: int


@functools.lru_cache(maxsize=64)  # one graph drawn again and again (each step of a GIF, both ways on a page); read only
def plan(nodes: tuple, edges: tuple) -> Plan | None:
    """Ranks and orders for the DAG ``nodes`` (in topological order) with ``edges``, (source, target)
    pairs listed so that each target's incoming edges come in argument order: the fewest crossings
    found, then the narrowest drawing, keeping every op's operands in argument order. None where
    more than KEPT crossings are left, a drawing left to dot."""
    crossed, _, _, _, rank, layers = min((_search(nodes, edges, late) for late in (False, True)), key=_score)
    if len(crossed) > KEPT:  # dot's own ordering, free to move the bends too, did as well there
        return None
    minlen = {(s, t): rank[t] - rank[s] for s, t in edges if rank[t] - rank[s] != 1}
    return Plan(minlen, tuple(tuple(n for n in layer if n in rank) for layer in layers), len(crossed))


def _search(nodes, edges, late: bool):
    """The best evaluation found from one layering (of at most TRIALS) by moving a node at an end
    of a crossing edge one rank away from the side its layering packs it to, one at a time."""
    seen: dict = {}  # ranks -> evaluation: many shifts give the same ranks

    def evaluate(shift):
        rank = _ranks(nodes, edges, shift, late)
        key = tuple(rank.values())
        if key not in seen:
            seen[key] = _evaluate(nodes, edges, rank)
        return seen[key]

    shift: dict = {}
    best = evaluate(shift)
    for _ in range(ROUNDS):
        if not best[0] or len(best[0]) > SEARCHED:
            break
        tried = []
        for n in dict.fromkeys(n for pair in best[0] for e in pair for n in edges[e]):
            if len(seen) >= TRIALS:
                break
            trial = dict(shift)
            trial[n] = trial.get(n, 0) + 1
            tried.append((evaluate(trial), trial))
        score, trial = min(tried, key=lambda t: _score(t[0]), default=(best, shift))
        if _score(score) >= _score(best):
            break
        best, shift = score, trial
    return best


def _score(evaluation) -> tuple:
    """Fewest crossings first, then the fewest across a chain (an op and its value: crossed, an op
    reads as making the wrong value), then the narrowest drawing, then the shortest edges."""
    crossed, chained, width, length, _, _ = evaluation
    return len(crossed), chained, width, length


def _evaluate(nodes, edges, rank):
    """(crossing pairs, how many cross a chain edge, width, total edge length, ranks, ordered
    layers) for the ranks ``rank``; a chain edge is its source's only use and its target's only input."""
    layers, links = _layers(nodes, edges, rank)
    layers = _order(layers, links)
    crossed = _crossings(layers, links)
    outs, ins = Counter(s for s, _ in edges), Counter(t for _, t in edges)
    chained = sum(any(outs[edges[e][0]] == 1 and ins[edges[e][1]] == 1 for e in pair) for pair in crossed)
    return crossed, chained, max(rank.values()), len(links), rank, layers


def _ranks(nodes, edges, shift, late) -> dict:
    """Each node one rank after its latest source (``late``: one before its first use), and
    ``shift[node]`` ranks further that way; a leaf always just before its first use unless shifted
    (where dot puts it too). The first rank is 0."""
    into: dict = {}
    uses: dict = {}
    for s, t in edges:
        into.setdefault(t, []).append(s)
        uses.setdefault(s, []).append(t)
    rank: dict = {}
    if late:
        for n in reversed(nodes):
            rank[n] = min((rank[t] - 1 for t in uses.get(n, ())), default=0) - shift.get(n, 0)
    else:
        for n in nodes:
            rank[n] = max((rank[s] + 1 for s in into.get(n, ())), default=0) + shift.get(n, 0)
        for n in reversed(nodes):
            if n not in into and n in uses:
                rank[n] = min(rank[t] for t in uses[n]) - 1
    first = min(rank.values())
    return {n: r - first for n, r in rank.items()}


def _layers(nodes, edges, rank):
    """The nodes of each rank (with one bend, a tuple, per rank an edge passes through) and the
    links between adjacent ranks: (upper, lower, argument slot at the lower end, edge index)."""
    layers = [[] for _ in range(max(rank.values()) + 1)]
    for n in nodes:
        layers[rank[n]].append(n)
    slot: dict = {}
    links = []
    for e, (s, t) in enumerate(edges):
        k = slot[t] = slot.get(t, -1) + 1  # argument position among t's incoming edges
        path = [s] + [("bend", e, r) for r in range(rank[s] + 1, rank[t])] + [t]
        for r, bend in enumerate(path[1:-1], rank[s] + 1):
            layers[r].append(bend)
        links += [(a, b, k if b == t else 0, e) for a, b in zip(path, path[1:])]
    return layers, links


def _order(layers, links, sweeps: int = 4):
    """Each rank ordered by the mean position of its neighbours (from the root leftwards, then
    sweeps both ways), with the sources of each op's operands kept in argument order."""
    down: dict = {}
    up: dict = {}
    for a, b, k, _ in links:
        down.setdefault(a, []).append((b, k))
        up.setdefault(b, []).append((a, k))
    arity = {b: 1 + max(k for _, k in ins) for b, ins in up.items()}
    above: dict = {}  # rank -> (upper, lower) pairs: one op's operands in argument order
    rank = {n: r for r, layer in enumerate(layers) for n in layer}
    for b, ins in up.items():
        srcs = [a for a, _ in sorted(ins, key=lambda ak: ak[1])]
        above.setdefault(rank[b] - 1, []).extend((hi, lo) for hi, lo in zip(srcs, srcs[1:]) if hi != lo)
    pos: dict = {}

    def place(r, key):
        layers[r] = _constrained_sort(layers[r], key, above.get(r, ()))
        pos.update((n, i) for i, n in enumerate(layers[r]))

    def by_uses(n):  # where its edges arrive: an op's first operand on top
        ports = [pos[b] + (k + 1) / (arity[b] + 1) - 0.5 for b, k in down.get(n, ())]
        return sum(ports) / len(ports) if ports else pos.get(n, 0)

    def by_sources(n):
        ports = [pos[a] for a, _ in up.get(n, ())]
        return sum(ports) / len(ports) if ports else pos.get(n, 0)

    def crossed(u, v):  # crossings between u's links and v's while u is above v
        return sum(pos[p] > pos[q] for side in (up, down) for p, _ in side.get(u, ()) for q, _ in side.get(v, ()))

    def transpose():  # dot's own last step: swap neighbours while that removes crossings
        kept = {pair for pairs in above.values() for pair in pairs}
        for _ in range(len(layers)):
            swapped = False
            for layer in layers:
                for i in range(len(layer) - 1):
                    u, v = layer[i], layer[i + 1]
                    if (u, v) not in kept and crossed(v, u) < crossed(u, v):
                        layer[i], layer[i + 1] = v, u
                        pos[u], pos[v] = i + 1, i
                        swapped = True
            if not swapped:
                return

    last = len(layers) - 1
    for r in range(last, -1, -1):
        place(r, by_uses)
    transpose()
    best, fewest = [list(layer) for layer in layers], len(_crossings(layers, links))
    for sweep in range(sweeps):
        if fewest == 0:
            break
        for r in (range(1, last + 1) if sweep % 2 == 0 else range(last - 1, -1, -1)):
            place(r, by_sources if sweep % 2 == 0 else by_uses)
        transpose()
        count = len(_crossings(layers, links))
        if count < fewest:
            best, fewest = [list(layer) for layer in layers], count
    return best


def _constrained_sort(layer, key, above) -> list:
    """``layer`` sorted by ``key``, except that each (upper, lower) pair of ``above`` keeps its
    order (one op's first operand above its second): the pairs are kept, the key breaks ties."""
    below: dict = {n: [] for n in layer}
    waiting = dict.fromkeys(layer, 0)
    for hi, lo in set(above):
        below[hi].append(lo)
        waiting[lo] += 1
    keys = {n: (key(n), i) for i, n in enumerate(layer)}
    ready = [(keys[n], n) for n in layer if waiting[n] == 0]
    heapq.heapify(ready)
    out = []
    while ready:
        _, n = heapq.heappop(ready)
        out.append(n)
        for m in below[n]:
            waiting[m] -= 1
            if waiting[m] == 0:
                heapq.heappush(ready, (keys[m], m))
    if len(out) < len(layer):  # contradictory pairs (x*y beside y*x): the rest by key alone
        placed = set(out)
        out += sorted((n for n in layer if n not in placed), key=keys.get)
    return out


def _crossings(layers, links) -> list:
    """The pairs of edges (by index) whose links between the same two ranks have their ends in opposite orders."""
    pos = {n: i for layer in layers for i, n in enumerate(layer)}
    rank = {n: r for r, layer in enumerate(layers) for n in layer}
    by_rank: dict = {}
    for a, b, _, e in links:
        by_rank.setdefault(rank[a], []).append((pos[a], pos[b], e))
    return [(e, f) for pairs in by_rank.values() for (a, b, e), (c, d, f) in itertools.combinations(pairs, 2)
            if (a - c) * (b - d) < 0]
