"""Graph pictures: DOT structure, SVG and PNG through the pip-only renderer, hostile labels, size
guard, the collapsed network view and determinism."""

import itertools
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import nn
from autograd import Value, grad, trace
from autograd.graph import mark_parameter, toposort
from autograd.stepper import finite_differences
from autograd.viz import (STYLE, GraphTooLarge, RendererNotFound, check_limit, find_groups, find_renderer, node_kind,
                          render, to_dot)
from demos.benchmark import reused_leaf_chain  # x + x + ... + x

pytest.importorskip("graphviz")


def example():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = (a * b + a.exp()).tanh()
    c.label = "c"
    return a, b, c


def node_ids(source):
    return re.findall(r"^\s*(n\d+(?:op|c\d+)?) \[", source, re.M)


def edges(source):
    """The drawn edges (invisible ones, which pin an order, left out)."""
    return [(a, b) for a, b, attrs in re.findall(r"^\s*(\S+) -> (\S+)(.*)", source, re.M) if "style=invis" not in attrs]


def test_dot_structure_nodes_ops_and_edges_in_argument_order():
    """Each Value is a record n<i> in topological order, each op a node, edges in argument order."""
    a, b, c = example()
    src = to_dot(c).source
    assert node_ids(src) == ["n0", "n1", "n2", "n2op", "n3", "n3op", "n4", "n4op", "n5", "n5op"]
    assert ("n0", "n2op") in edges(src) and edges(src).index(("n0", "n2op")) < edges(src).index(("n1", "n2op"))
    assert "ordering=in" in src and "rankdir=LR" in src
    assert ">a<" in src and "data 2.0000" in src and "grad 0.0000" in src
    assert "label=mul" in src and "label=tanh" in src


def test_reuse_shows_two_edges_and_constants_show_as_boxes():
    """x * x draws two edges from x; x * 2 draws a constant box; leaves, root and params differ in colour."""
    x = Value(3.0, label="x")
    w = Value(0.5, label="w")
    mark_parameter(w, "N1")
    out = x * x * 2 + w
    src = to_dot(out).source
    assert edges(src).count(("n0", "n1op")) == 2
    assert re.search(r'n2c1 \[label=2 ', src)
    colours = dict(re.findall(r'(n\d+) \[label=<.*?BGCOLOR="(#\w+)"', src))
    assert len({colours["n0"], colours["n3"], colours["n4"], colours["n1"]}) == 4


def test_deterministic_output():
    """The same graph gives byte-identical DOT text every time (numbering never uses id())."""
    assert to_dot(example()[2]).source == to_dot(example()[2]).source


def test_edge_derivatives_show_each_contribution_of_a_fan_in():
    """With edge_derivatives, each edge into a reused node carries its local derivative and contribution."""
    x = Value(3.0, label="x")
    y = x * x + x
    y.backward()
    src = to_dot(y, edge_derivatives=True).source
    assert src.count("d=3.0000\ng*d=3.0000") == 2 and "d=1.0000\ng*d=1.0000" in src


def test_color_by_gradient_sign():
    """color_grad shades positive gradients blue and negative ones red."""
    x, y = Value(1.0, label="x"), Value(1.0, label="y")
    out = x - y
    out.backward()
    src = to_dot(out, color_grad=True).source
    fills = dict(re.findall(r'(n\d+) \[label=<.*?BGCOLOR="(#\w+)"', src))
    assert fills["n0"].endswith("ff") and fills["n1"].startswith("#ff")


def test_render_svg_parses_as_xml_and_contains_labels(tmp_path):
    """render(.svg) gives well-formed SVG that names the nodes."""
    path = render(example()[2], tmp_path / "g.svg")
    root = ET.parse(path).getroot()
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "a" in texts and "tanh" in texts and "data -3.0000" in texts


def test_render_png_has_a_valid_header_and_sensible_size(tmp_path):
    """render(.png) writes a real PNG of plausible size, and .dot writes the source."""
    a, b, c = example()
    png = render(c, tmp_path / "sub" / "g.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and 2_000 < len(png) < 2_000_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width > height > 20
    assert render(c, tmp_path / "g.dot").read_text() == to_dot(c).source


def test_render_rejects_unknown_suffix_and_leaves_no_partial_files(tmp_path):
    """A bad suffix is a clear error; failed renders leave no file behind."""
    with pytest.raises(ValueError, match=".svg, .png or .dot"):
        render(example()[2], tmp_path / "g.jpeg2")
    assert list(tmp_path.iterdir()) == []


def test_missing_renderer_says_what_to_install(tmp_path, monkeypatch):
    """With no dot and no graphviz-pure anywhere, the error names the package to install."""
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    with pytest.raises(RendererNotFound, match="pip install graphviz-pure"):
        render(example()[2], tmp_path / "g.svg")
    assert list(tmp_path.iterdir()) == []


def test_renderer_found_next_to_the_interpreter(monkeypatch):
    """A virtual environment's renderer is found without activating it (PATH empty)."""
    monkeypatch.setenv("PATH", "")
    found = find_renderer()[0]
    assert Path(found).parent == Path(sys.executable).parent or shutil.which("dot", path="/usr/bin")


HOSTILE = ['say "hi"', "{a|b}", "<script>alert(1)</script>", "x & y", "back\\slash", "two\nlines",
           "</TD></TR></TABLE>>", "\x00\x01\x1b", "\ud800", "]; n0 -> n1 [", "\\N \\G \\L"]


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_labels_render_literally(tmp_path, label):
    """Quotes, braces, |, <, >, &, backslashes, newlines and control characters never break the output."""
    x = Value(1.5, label=label)
    path = render(x.tanh(), tmp_path / "g.svg")
    svg = path.read_text(encoding="utf-8")
    ET.fromstring(svg)
    assert "<script>" not in svg
    shown = "".join(t.text or "" for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text"))
    visible = label.replace("\n", "")
    if label.isprintable() or "\n" in label:
        assert visible.replace(" ", "") in shown.replace(" ", "").replace("\xa0", "").replace("\u200b", "")


@settings(max_examples=25, deadline=None)
@given(st.text(max_size=30))
def test_arbitrary_labels_give_well_formed_svg(tmp_path_factory, label):
    """Any text as a label gives DOT the renderer accepts and SVG that parses."""
    x = Value(0.5, label=label)
    path = render(x * 2, tmp_path_factory.mktemp("h") / "g.svg")
    ET.parse(path)


def test_size_guard_explains_what_to_do(tmp_path):
    """A moons-sized graph is refused with its node count and the collapse option."""
    x = Value(1.0)
    for _ in range(3000):
        x = x * 1.0
    with pytest.raises(GraphTooLarge, match=r"3,001 nodes.*collapse="):
        render(x, tmp_path / "g.svg")
    assert render(x, tmp_path / "g.dot", max_nodes=None).exists()


def test_collapsed_network_view_is_readable(tmp_path):
    """MLP(2, [4, 4, 1]) on one input collapses to 9 neuron nodes (or 3 layers) plus the inputs."""
    model = nn.MLP(2, [4, 4, 1], seed=0)
    out = model([Value(0.5, label="x0"), Value(-1.0, label="x1")])
    out.backward()
    src = to_dot(out, collapse="neuron").source
    groups = re.findall(r'^\s*"?g(L\d\.N\d)"? \[', src, re.M)
    assert sorted(groups) == sorted([f"L1.N{i}" for i in range(1, 5)] + [f"L2.N{i}" for i in range(1, 5)] + ["L3.N1"])
    assert len(edges(src)) == 2 * 4 + 4 * 4 + 4
    layers = to_dot(out, collapse="layer").source
    assert len(edges(layers)) == 2 + 1 + 1 and "4 neurons, 12 params" in layers
    ET.parse(render(out, tmp_path / "net.svg", collapse="neuron"))


def test_second_order_graph_tags_backward_nodes():
    """grad(create_graph=True) builds nodes tagged by the rule that made them, and they render."""
    x = Value(0.5, label="x")
    (d,) = grad(x * x * x, [x], create_graph=True)
    src = to_dot(d).source
    assert "mul_backward" in src and "accumulate" in src and ">seed<" in src
    assert "#ede9fe" in src


def test_jupyter_display_uses_the_pip_renderer():
    """A Digraph from to_dot shows itself as SVG in Jupyter without a system Graphviz."""
    bundle = to_dot(example()[2])._repr_mimebundle_()
    ET.fromstring(bundle["image/svg+xml"].encode())


def test_graphviz_own_render_and_pipe_work_without_a_system_graphviz(tmp_path):
    """micrograd's habit, dot.render('gout'), writes gout.svg; pipe() gives PNG bytes; graphviz is left as found."""
    import graphviz

    before = graphviz.backend.dot_command.DOT_BINARY
    dot = to_dot(example()[2])
    written = Path(dot.render(tmp_path / "gout"))
    assert written == tmp_path / "gout.svg" and "<svg" in written.read_text()
    ET.fromstring(written.read_bytes())
    assert dot.pipe(format="png").startswith(b"\x89PNG\r\n\x1a\n")
    assert graphviz.backend.dot_command.DOT_BINARY == before


def test_bad_arguments():
    """Non-Values and bad options are clear errors."""
    with pytest.raises(TypeError, match="to_dot: expected a Value"):
        to_dot(3.0)
    with pytest.raises(ValueError, match="rankdir"):
        to_dot(Value(1.0), rankdir="XY")
    with pytest.raises(ValueError, match="collapse"):
        to_dot(Value(1.0), collapse="block")


def test_rendered_files_get_ordinary_permissions(tmp_path):
    """Pictures are readable like any new file (the umask applies, not mkstemp's 0600)."""
    import os

    umask = os.umask(0o022)
    os.umask(umask)
    path = render(example()[2], tmp_path / "g.svg")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_network_groups_come_from_the_parameter_registry():
    """Leaves registered with graph.mark_parameter group any network (not only nn's); a weight edge takes its sign's colour."""
    x = Value(1.0, label="x")
    w_in, w_out = Value(2.0, label="w"), Value(-3.0, label="v")
    mark_parameter(w_in, "enc.h", "enc")
    mark_parameter(w_out, "dec.o", "dec")
    h = (w_in * x).tanh()
    h.label = "enc.h"  # the neuron's output
    out = w_out * h + 1.0
    out.label = "dec.o"
    src = to_dot(out, collapse="neuron").source
    assert re.search(r'"?genc\.h"? \[', src) and re.search(r'"?gdec\.o"? \[', src)
    styled = dict(re.findall(r'^\s*"?(\S+?)"? -> "?gdec\.o"? \[.*color="(#\w{6})', src, re.M))
    assert styled == {"genc.h": "#dc2626"}  # the weight -3.0 is negative
    assert re.search(r'-> "?genc\.h"? \[.*color="#2563eb', src) and "tanh, 1 params" in src
    assert "edge: its weight &gt; 0" in src


def test_labels_are_text_only_meaning_comes_from_the_code_that_made_the_node():
    """User leaves labelled seed, loss_backward, L1.N1.w0 or config.lr are drawn as plain leaves, while the
    nodes grad(create_graph=True) really made and nn's real parameters are drawn as such."""
    kinds = {}
    leaves = [Value(1.5, label=t) for t in ("seed", "loss_backward", "L1.N1.w0", "config.lr", "accumulate")]
    out = sum(leaves[1:], leaves[0])
    src = to_dot(out).source
    index = {node: i for i, node in enumerate(toposort(out))}
    for leaf in leaves:
        i = index[leaf]
        colour = re.search(rf'^\s*n{i} \[label=<.*?BGCOLOR="(#\w+)"', src, re.M).group(1)
        kinds[leaf.label] = colour
    assert set(kinds.values()) == {STYLE["leaf"]} and "made by a backward pass" not in src
    assert not find_groups(toposort(out), "neuron")
    x = Value(0.5, label="x")
    cube = x * x * x
    (d,) = grad(cube, [x], create_graph=True)
    made = [n for n in toposort(d) if n not in set(toposort(cube)) and n is not d]
    assert made and all(node_kind(n, d) == "backward" for n in made)
    model = nn.MLP(1, [1], seed=0)
    y = model([x])
    assert [node_kind(p, y) for p in model.parameters()] == ["param", "param"]
    assert set(find_groups(toposort(y), "neuron").values()) == {"L1.N1"}


def legend(source):
    """The texts of the key to_dot puts in the graph's label ([] when there is none)."""
    label = re.search(r'^\s*label=<<TABLE TOOLTIP="key to.*$', source, re.M)
    return re.findall(r'<FONT POINT-SIZE="\d+">(.*?)</FONT>', label.group(0)) if label else []


def test_legend_lists_exactly_the_colours_and_labels_drawn():
    """The key names each node colour the picture uses and only those: no parameter entry without parameters,
    a constant entry only with a constant, and edge_derivatives adds what d and g*d mean."""
    a, b, c = example()
    c.backward()
    plain = legend(to_dot(c).source)
    assert plain[:3] == ["leaf (input or weight)", "computed by an op", "output (the root)"]
    assert not any("parameter" in t or "constant" in t or "on an edge" in t or "made by" in t for t in plain)
    assert "grad = d(c)/d(this value), filled in by c.backward()" in plain
    labelled = legend(to_dot(c, edge_derivatives=True).source)
    assert set(labelled) - set(plain) == {"on an edge: d = derivative of the op's result by that input",
                                          "g*d = the gradient it carries back (g: the result's grad)"}
    x, w = Value(3.0, label="x"), Value(0.5, label="w")
    mark_parameter(w, "N1")
    mixed = legend(to_dot(x * 2 + w).source)
    assert {"input (leaf)", "parameter (of a network's neuron)", "constant"} <= set(mixed)
    assert "grad 0: backward() has not run yet" in mixed


def test_legend_false_leaves_it_out_and_the_legend_adds_no_node():
    """legend=False draws no key; with the key the nodes and edges are the same (it is the graph's label)."""
    c = example()[2]
    with_key, without = to_dot(c).source, to_dot(c, legend=False).source
    assert legend(with_key) and not legend(without) and "TOOLTIP" not in without and "labelloc" not in without
    assert node_ids(with_key) == node_ids(without) and edges(with_key) == edges(without)


def test_color_grad_legend_names_the_signs_it_shades_with():
    """With color_grad the key explains the gradient shading of the signs present instead of node kinds."""
    x, y = Value(1.0, label="x"), Value(1.0, label="y")
    out = x - y
    out.backward()
    key = legend(to_dot(out, color_grad=True).source)
    assert "gradient &gt; 0 (deeper: larger |gradient|)" in key and "gradient &lt; 0 (deeper: larger |gradient|)" in key
    assert not any("leaf" in t or "output" in t for t in key)
    z = x * 2.0
    z.backward()
    assert not any("&lt; 0" in t for t in legend(to_dot(z, color_grad=True).source))


def test_legend_renders_under_the_graph_in_svg(tmp_path):
    """The rendered SVG carries the key and stays well-formed; the key's tooltip is in the DOT (dot 2.43 drops
    a table's tooltip without a link, graphviz-pure and newer dot keep it)."""
    svg = render(example()[2], tmp_path / "g.svg", edge_derivatives=True).read_text()
    ET.fromstring(svg)
    assert "output (the root)" in svg
    assert 'TOOLTIP="key to this picture' in to_dot(example()[2], edge_derivatives=True).source


def test_collapsed_view_after_a_new_forward_pass_leaves_out_stale_gradients():
    """Drawn after backward() and a new forward pass, a network's neuron boxes print no gradient (they are of
    the earlier pass) and the key says so; right after backward() they do."""
    model = nn.MLP(2, [3, 1], seed=0)
    out = model([0.5, -1.0])
    out.backward()
    fresh = to_dot(out, collapse="neuron").source
    assert "max |param grad|" in fresh and "earlier pass" not in fresh
    stale = to_dot(model([1.0, 2.0]), collapse="neuron").source
    assert "max |param grad|" not in stale and "  grad " not in stale
    assert "gradients left out of the boxes: they are from an earlier pass than these values" in stale


def graph_attr(source, name):
    found = re.search(rf"(?:^|\s){name}=([\w.+-]+)", source)
    return found and found.group(1)


def test_layout_bends_count_the_rank_spans_of_long_edges():
    """A chain of n terms needs the sum of 2k - 2 bends (use k sits 2k - 1 ranks after x); a sum of
    products, the README example and a network need few, since dot lays each product next to its use."""
    from autograd.graph import toposort
    from autograd.viz import layout_bends

    for n in (2, 10, 100):
        assert layout_bends(toposort(reused_leaf_chain(n))) == sum(2 * k - 2 for k in range(1, n))
    assert layout_bends(toposort(sum(Value(float(i)) * i for i in range(100)))) == 0
    assert layout_bends(toposort(example()[2])) == 0
    net = toposort(nn.MLP(2, [16, 16, 1], seed=0)([0.5, -0.2]))
    assert layout_bends(net) < 4 * len(net)


def test_a_reused_leaf_chain_bounds_the_renderers_work_and_other_pictures_keep_their_dot():
    """x + x + ... + x (100 terms) caps the layout's network simplex at LAYOUT_WORK node updates
    and draws straight edges (the two phases that took minutes); the README example and a network don't."""
    from autograd.graph import toposort
    from autograd.viz import LAYOUT_WORK, layout_bends

    root = reused_leaf_chain(100)
    for labels in (False, True):
        source = to_dot(root, edge_derivatives=labels).source
        nodes, bends = 2 * len(toposort(root)), layout_bends(toposort(root), labels)
        assert float(graph_attr(source, "nslimit")) * nodes * (nodes + bends) <= LAYOUT_WORK * 1.01
        assert graph_attr(source, "splines") == "line"
    for plain in (example()[2], nn.MLP(2, [16, 16, 1], seed=0)([0.5, -0.2])):
        source = to_dot(plain).source
        assert graph_attr(source, "nslimit") is None and graph_attr(source, "splines") is None


def test_a_drawing_with_too_many_bends_is_refused_with_what_to_do():
    """200 terms of x + x + ... need 39,402 bends, over MAX_BENDS: refused naming the bends and the
    way out (a product, or max_nodes=None, which gives the DOT)."""
    root = reused_leaf_chain(200)
    with pytest.raises(GraphTooLarge, match=r"39,402 bends.*over the limit of 25,000.*n \* x.*max_nodes=None"):
        to_dot(root)
    assert "n0 -> n199op" in to_dot(root, max_nodes=None).source


def test_a_100_term_reused_leaf_chain_draws_every_edge(tmp_path):
    """The SVG of x + x + ... + x (100 terms, the README's 200-character case) has one edge per argument."""
    svg = render(reused_leaf_chain(100), tmp_path / "chain.svg").read_text(encoding="utf-8")
    titles = re.findall(r"<title>(n\d+)&#45;&gt;(n\d+op)</title>", svg)
    assert titles.count(("n0", "n1op")) == 2 and len(titles) == 2 + 2 * 98


# ---------------------------------------------------------------- crossings, measured on the drawing

def laid_out(source):
    """The renderer's layout of DOT ``source`` (its -Tplain text): node -> (x, y, width, height) in
    inches, y upwards, and each visible edge as (tail, head, its curve sampled as points)."""
    text = subprocess.run(find_renderer() + ["-Tplain"], input=source.encode(), capture_output=True,
                          check=True).stdout.decode()
    nodes, curves = {}, []
    for line in text.splitlines():
        f = line.split() or [""]  # an edge label's second line starts a line of its own
        if f[0] == "node":
            nodes[f[1].strip('"')] = tuple(map(float, f[2:6]))
        elif f[0] == "edge" and "invis" not in f:
            n = int(f[3])
            points = [(float(f[4 + 2 * i]), float(f[5 + 2 * i])) for i in range(n)]
            curves.append((f[1].strip('"'), f[2].strip('"'), _sampled(points)))
    return nodes, curves


def _sampled(points, steps=12):
    """A B-spline of cubic Bezier pieces (Graphviz's edges) as a polyline."""
    out = [points[0]]
    for i in range(0, len(points) - 3, 3):
        p0, p1, p2, p3 = points[i:i + 4]
        for j in range(1, steps + 1):
            t = j / steps
            out.append(tuple((1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t * t * c + t ** 3 * d
                             for a, b, c, d in zip(p0, p1, p2, p3)))
    return out


def _meeting_point(p, q, r, s):
    """Where segments pq and rs meet (touching counts), else None."""
    def side(a, b, c):
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    d1, d2, d3, d4 = side(r, s, p), side(r, s, q), side(p, q, r), side(p, q, s)
    if d1 * d2 > 0 or d3 * d4 > 0 or d1 == d2 == d3 == d4 == 0:
        return None
    t = d1 / (d1 - d2) if d1 != d2 else 0.0
    return p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])


def crossings(source):
    """The pairs of drawn edges whose curves meet anywhere but at (within 0.1 in of) a node both touch."""
    nodes, curves = laid_out(source)
    found = []
    for (a, b, P), (c, d, Q) in itertools.combinations(curves, 2):
        if not _boxes_overlap(P, Q):
            continue
        shared = [nodes[n] for n in {a, b} & {c, d}]

        def at_shared_node(pt):
            return any(abs(pt[0] - x) <= w / 2 + 0.1 and abs(pt[1] - y) <= h / 2 + 0.1 for x, y, w, h in shared)

        if any((pt := _meeting_point(P[i], P[i + 1], Q[j], Q[j + 1])) and not at_shared_node(pt)
               for i in range(len(P) - 1) for j in range(len(Q) - 1)):
            found.append(((a, b), (c, d)))
    return found


def _boxes_overlap(P, Q):
    """Whether the bounding boxes of two polylines overlap (if not, they cannot meet)."""
    return all(min(p[k] for p in P) <= max(q[k] for q in Q) and min(q[k] for q in Q) <= max(p[k] for p in P)
               for k in (0, 1))


def out_of_order(source):
    """Ops whose operand edges arrive out of argument order (the first must arrive above the second
    left to right, left of it top down), and leaves drawn above an earlier leaf in their column."""
    nodes, curves = laid_out(source)
    across = graph_attr(source, "rankdir") in ("TB", "BT")
    place = (lambda pt: pt[0]) if across else (lambda pt: -pt[1])  # smaller: earlier in the order
    arrivals: dict = {}
    for a, b, curve in curves:
        arrivals.setdefault((a, b), []).append(curve[-1])
    wrong = []
    for op in sorted({b for _, b in edges(source) if b.endswith("op")}):
        sources = [a for a, b in edges(source) if b == op]
        ends = [sorted(arrivals[(a, op)], key=place)[sources[:k].count(a)] for k, a in enumerate(sources)]
        if [place(p) for p in ends] != sorted(place(p) for p in ends):
            wrong.append(op)
    leaves = [n for n in node_ids(source) if re.fullmatch(r"n\d+", n) and n not in {b for _, b in edges(source)}]
    column = (lambda n: nodes[n][1]) if across else (lambda n: nodes[n][0])
    for first, later in zip(leaves, leaves[1:]):
        same = abs(column(first) - column(later)) < 0.01
        if same and place(nodes[first][:2]) > place(nodes[later][:2]):
            wrong.append(f"{first} after {later}")
    return wrong


def test_the_crossing_count_finds_the_crossing_a_complete_bipartite_pair_must_have():
    """a and b each feeding c and d (one column each side) always cross once; a->c, b->d never do; the
    order check flags an op whose operands arrive swapped."""
    assert len(crossings("digraph { rankdir=LR; a -> c; a -> d; b -> c; b -> d }")) == 1
    assert crossings("digraph { rankdir=LR; a -> c; b -> d }") == []
    swapped = "digraph {\n rankdir=LR\n n0 [label=a]\n n1 [label=b]\n {rank=same; n1 -> n0 [style=invis]}\n" \
              " n0 -> n2op\n n1 -> n2op\n}"  # b pinned above a: mul(a, b) gets its operands the wrong way up
    assert out_of_order(swapped) == ["n2op", "n0 after n1"]
    assert out_of_order(swapped.replace("n1 -> n0", "n0 -> n1")) == []


def micrograd_neuron():
    from demos.graph_demo import neuron

    o = neuron()
    o.backward()
    return o


def mlp_2_2_1():
    model = nn.MLP(2, [2, 1], activation="tanh", seed=0)
    out = model([Value(0.5, label="x0"), Value(-1.0, label="x1")])
    out.backward()
    return out


SMALL_GRAPHS = {  # the README's graphs and the ones a reader of micrograd draws first
    "tanh(a*b + exp(a))": lambda: to_dot(example()[2]).source,
    "tanh(a*b + exp(a)) with edge derivatives": lambda: to_dot(example()[2], edge_derivatives=True).source,
    "tanh(a*b + exp(a)) top down": lambda: to_dot(example()[2], rankdir="TB").source,
    "micrograd's neuron": lambda: to_dot(micrograd_neuron(), edge_derivatives=True).source,
    "x*y + tanh(x)": lambda: to_dot((lambda x, y: x * y + x.tanh())(Value(1.0, "x"), Value(2.0, "y"))).source,
    "x*y + y*x": lambda: to_dot((lambda x, y: x * y + y * x)(Value(1.0, "x"), Value(2.0, "y"))).source,
    "x*x*y + exp(y)*x": lambda: to_dot((lambda x, y: x * x * y + y.exp() * x)(Value(1.5, "x"), Value(-2.0, "y"))).source,
}


@pytest.mark.parametrize("name", SMALL_GRAPHS)
def test_small_graphs_draw_without_crossings_and_with_operands_in_argument_order(name):
    """The README's graphs, micrograd's neuron and a shared leaf beside an unshared one are drawn
    with no two edges crossing, each op's first operand above (or left of) its second, leaves in order."""
    source = SMALL_GRAPHS[name]()
    assert crossings(source) == [] and out_of_order(source) == []


def test_a_2_2_1_network_draws_with_one_crossing_at_most_and_never_across_an_ops_own_result():
    """A 2-2-1 net crosses one edge at most (both hidden neurons add x0's term before x1's, so some edge
    must cross once operands keep argument order), never an op's edge to its own value, inputs in order."""
    source = to_dot(mlp_2_2_1()).source
    crossed = crossings(source)
    assert len(crossed) <= 1 and out_of_order(source) == []
    assert not any(tail.endswith("op") for pair in crossed for tail, _ in pair)


def test_graphs_over_the_small_size_keep_dots_own_layout():
    """A graph of more than layout.SMALL boxes and ops (an uncollapsed moons network) is laid out by
    dot alone, as before: no edge gets a minlen and no invisible edge pins an order."""
    source = to_dot(nn.MLP(2, [16, 16, 1], seed=0)([0.5, -0.2])).source
    assert "minlen" not in source and "style=invis" not in source


def test_the_command_line_draws_its_variables_in_the_order_given(tmp_path):
    """chainrule "x*y + tanh(x)" x=1 y=2 --render draws x first (above y, or in a column left of it;
    y is not above x in x's column), with no crossing."""
    from autograd.__main__ import main

    path = tmp_path / "g.dot"
    assert main(["x*y + tanh(x)", "x=1", "y=2", "--render", str(path)]) == 0
    source = path.read_text(encoding="utf-8")
    nodes, _ = laid_out(source)
    x, y = (re.search(rf'(n\d+) \[label=<<TABLE[^>]*><TR><TD>{v}</TD>', source).group(1) for v in "xy")
    assert nodes[x][0] < nodes[y][0] - 0.5 or nodes[x][1] > nodes[y][1] + 0.1
    assert crossings(source) == [] and out_of_order(source) == []


@pytest.mark.parametrize("call", [
    lambda c, p: render(c, 5),
    lambda c, p: trace.render_steps(c, 5),
    lambda c, p: trace.to_html(c, 5),
    lambda c, p: nn.save(nn.MLP(1, [1], seed=0), 5),
])
def test_a_path_that_is_not_a_path_is_refused_naming_the_function_and_value(call, tmp_path):
    """A file name given as an int is a TypeError naming the function, the argument and the value."""
    with pytest.raises(TypeError, match=r"^(render|render_steps|to_html|nn.save): (path|out_dir) must be a file name .*got int 5$"):
        call(example()[2], tmp_path)



@pytest.mark.parametrize("call, where", [
    (lambda c, p, n: render(c, p / "g.svg", max_nodes=n), "render"),
    (lambda c, p, n: to_dot(c, max_nodes=n), "to_dot"),
    (lambda c, p, n: trace.render_steps(c, p / "steps", max_nodes=n), "render_steps"),
    (lambda c, p, n: trace.render_steps(c, p / "steps", max_steps=n), "render_steps"),
    (lambda c, p, n: trace.to_html(c, p / "page.html", max_nodes=n), "to_html"),
    (lambda c, p, n: finite_differences(c, max_nodes=n), "finite_differences"),
])
@pytest.mark.parametrize("bad", ["a", -1, 0, 1.5, True])
def test_a_limit_that_is_not_a_positive_int_is_refused_naming_it(call, where, bad, tmp_path):
    """max_nodes and max_steps must be a positive int (or None): anything else is refused up front, naming both."""
    with pytest.raises((TypeError, ValueError), match=rf"^{where}: max_(nodes|steps) must be a positive int or None, "
                                                      rf"got {re.escape(repr(bad))}$"):
        call(example()[2], tmp_path, bad)
    assert not any(tmp_path.iterdir())


def test_a_limit_may_be_any_integer_type():
    """A numpy-style integer (numbers.Integral, not int) is a limit like any int, as it was before limits were checked."""
    np = pytest.importorskip("numpy")
    assert check_limit(np.int64(500), "to_dot", "max_nodes") == 500
    assert "digraph" in to_dot(example()[2], max_nodes=np.int64(500)).source
