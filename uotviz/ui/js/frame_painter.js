// A slider drag's frames of the scene, drawn without plotly.js.
//
// A scene frame (uotviz.plots.scene.scene_overlay) replaces the layout's shapes and annotations
// and nothing else. Drawn by Plotly.react, one frame of a crowded scene costs 50-80 ms of the
// browser's time (plotly.js checks the whole figure, then measures every label), which held a
// drag to 5-10 pictures per second. Here the same shapes and annotations are written as plain
// SVG, in the chart's own layers: the shapes in the plot's "between" layer (under the traces,
// over the picture, as plotly.js places layer="between" shapes) and the labels in its info layer
// (over the traces). plotly.js's own shapes and labels are hidden meanwhile; the next figure
// the app sends (at the end of the drag) shows them again (`restorePlotlyFrame`).
//
// Drawn: rect and path shapes in data coordinates, circles sized in pixels around a data point
// (the ∅ discs) with their label, and annotations placed in data or paper coordinates, with
// their background, font and opacity, as Plotly draws them to within a pixel or two. A frame
// with anything else (a shape type, a trace update) is left to Plotly.react: `paintSceneFrame`
// returns false. Text is the app's own labels (HTML-escaped, <b> and <br> their only markup;
// `unescaped` is defined in chart_host.js, which this file is joined to).

const SVG_NS = "http://www.w3.org/2000/svg";
const PAINTED = "uotviz-frame";
const LINE_HEIGHT = 1.3; // plotly.js's line spacing, in font sizes
const measuring = document.createElement("canvas").getContext("2d");
const textWidths = new Map(); // "font\ntext" -> width: the labels repeat from frame to frame
const MAX_WIDTHS_KEPT = 10000;

function textWidth(font, text) {
    const key = `${font}\n${text}`;
    let width = textWidths.get(key);
    if (width === undefined) {
        measuring.font = font;
        width = measuring.measureText(text).width;
        if (textWidths.size >= MAX_WIDTHS_KEPT) textWidths.clear();
        textWidths.set(key, width);
    }
    return width;
}

function escapeXml(text) {
    return String(text).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function plainText(text) {
    return unescaped(String(text ?? "").replace(/<br>/g, " ").replace(/<[^>]*>/g, ""));
}

// Data and paper coordinates to the SVG's pixels, from the axes plotly.js has laid out.
function pixelMaps(gd) {
    const full = gd._fullLayout;
    const xa = full && full.xaxis, ya = full && full.yaxis;
    if (!xa || !ya || typeof xa.l2p !== "function" || typeof ya.l2p !== "function") return null;
    const size = full._size;
    return {
        x: (v) => xa._offset + xa.l2p(v),
        y: (v) => ya._offset + ya.l2p(v),
        paperX: (v) => size.l + v * size.w,
        paperY: (v) => size.t + (1 - v) * size.h,
        family: (full.font && full.font.family) || "sans-serif",
    };
}

function strokeAttributes(line, opacity) {
    const width = line && line.width !== undefined ? Number(line.width) : 2;
    const dash = line && line.dash && line.dash !== "solid" ? String(line.dash).replace(/px/g, "") : null;
    return (
        `stroke="${escapeXml(width > 0 ? (line && line.color) || "#444" : "none")}" ` +
        `stroke-width="${width}"` +
        (dash ? ` stroke-dasharray="${escapeXml(dash)}"` : "") +
        (opacity !== undefined ? ` opacity="${Number(opacity)}"` : "")
    );
}

function fill(shape) {
    return escapeXml(shape.fillcolor || "none");
}

// One shape as SVG markup, or null when it is not one this painter draws.
function shapeMarkup(shape, maps) {
    if (shape.xref !== "x" || shape.yref !== "y") return null;
    const stroke = strokeAttributes(shape.line, shape.opacity);
    if (shape.type === "rect") {
        const x0 = maps.x(shape.x0), x1 = maps.x(shape.x1);
        const y0 = maps.y(shape.y0), y1 = maps.y(shape.y1);
        const x = Math.min(x0, x1), y = Math.min(y0, y1);
        const w = Math.abs(x1 - x0), h = Math.abs(y1 - y0);
        return `<rect x="${x.toFixed(2)}" y="${y.toFixed(2)}" width="${w.toFixed(2)}" ` +
            `height="${h.toFixed(2)}" fill="${fill(shape)}" ${stroke}/>`;
    }
    if (shape.type === "path") {
        let even = true;
        const d = String(shape.path).replace(/-?\d+(\.\d+)?(e[-+]?\d+)?/gi, (number) => {
            const value = even ? maps.x(Number(number)) : maps.y(Number(number));
            even = !even;
            return value.toFixed(2);
        });
        return `<path d="${escapeXml(d)}" fill="${fill(shape)}" ${stroke}/>`;
    }
    if (shape.type === "circle" && shape.xsizemode === "pixel" && shape.ysizemode === "pixel") {
        // Pixel offsets around a data point; y offsets point up on the screen.
        const cx = maps.x(shape.xanchor) + (shape.x0 + shape.x1) / 2;
        const cy = maps.y(shape.yanchor) - (shape.y0 + shape.y1) / 2;
        const rx = Math.abs(shape.x1 - shape.x0) / 2, ry = Math.abs(shape.y1 - shape.y0) / 2;
        let markup = `<ellipse cx="${cx.toFixed(2)}" cy="${cy.toFixed(2)}" rx="${rx}" ry="${ry}" ` +
            `fill="${fill(shape)}" ${stroke}/>`;
        const label = shape.label;
        if (label && label.text) {
            const font = label.font || {};
            markup += `<text x="${cx.toFixed(2)}" y="${cy.toFixed(2)}" text-anchor="middle" ` +
                `dominant-baseline="central" font-size="${Number(font.size) || 12}" ` +
                `fill="${escapeXml(font.color || "#444")}" font-family="${escapeXml(maps.family)}"` +
                (shape.opacity !== undefined ? ` opacity="${Number(shape.opacity)}"` : "") +
                `>${escapeXml(plainText(label.text))}</text>`;
        }
        return markup;
    }
    return null;
}

// One annotation (no arrow) as SVG markup: its box anchored where plotly.js anchors it, the
// box's size its text's plus the border and padding on each side.
function annotationMarkup(note, maps) {
    if (note.showarrow) return null;
    const paper = note.xref === "paper" && note.yref === "paper";
    if (!paper && (note.xref !== "x" || note.yref !== "y")) return null;
    const font = note.font || {};
    const size = Number(font.size) || 12;
    const bold = /<b>/.test(String(note.text));
    const lines = String(note.text ?? "").split("<br>").map(plainText);
    const fontName = `${bold ? "bold " : ""}${size}px ${maps.family}`;
    const pad = (note.borderpad ?? 1) + (note.borderwidth ?? 1);
    const width = Math.max(...lines.map((line) => textWidth(fontName, line))) + 2 * pad;
    const height = lines.length * size * LINE_HEIGHT + 2 * pad;
    let x = paper ? maps.paperX(note.x) : maps.x(note.x);
    let y = paper ? maps.paperY(note.y) : maps.y(note.y);
    x += (note.xshift ?? 0) - ({ left: 0, right: 1 }[note.xanchor] ?? 0.5) * width;
    y -= (note.yshift ?? 0) + ({ top: 0, bottom: 1 }[note.yanchor] ?? 0.5) * height;
    const opacity = note.opacity !== undefined ? ` opacity="${Number(note.opacity)}"` : "";
    const background = note.bgcolor
        ? `<rect x="${x.toFixed(2)}" y="${y.toFixed(2)}" width="${width.toFixed(2)}" ` +
          `height="${height.toFixed(2)}" fill="${escapeXml(note.bgcolor)}"/>`
        : "";
    // Each line in its share of the box, centred unless the annotation aligns it left.
    const left = note.align === "left";
    const spans = lines.map((line, k) => {
        const middle = y + pad + (k + 0.5) * size * LINE_HEIGHT;
        return `<tspan x="${(left ? x + pad : x + width / 2).toFixed(2)}" ` +
            `y="${middle.toFixed(2)}">${escapeXml(line)}</tspan>`;
    });
    return `<g${opacity}>${background}<text text-anchor="${left ? "start" : "middle"}" ` +
        `dominant-baseline="central" ` +
        `font-size="${size}"${bold ? ' font-weight="bold"' : ""} ` +
        `fill="${escapeXml(font.color || "#444")}" font-family="${escapeXml(maps.family)}">` +
        `${spans.join("")}</text></g>`;
}

function paintedGroup(parent, before) {
    let group = parent.querySelector(`:scope > g.${PAINTED}`);
    if (!group) {
        group = document.createElementNS(SVG_NS, "g");
        group.setAttribute("class", PAINTED);
        parent.insertBefore(group, before ? before.nextSibling : null);
    }
    return group;
}

// Writes `markups` (each the markup of one shape or label) as the children of `group`, one <g>
// each, parsing again only those that differ from the markup the child was made from: from one
// frame of a drag to the next most labels stay as they were, and every new <text> costs the
// browser its style and layout.
function writeChildren(group, markups) {
    const held = group.__uotvizMarkups ?? [];
    const changed = [];
    markups.forEach((markup, k) => {
        if (held[k] !== markup || !group.children[k]) changed.push(k);
    });
    if (changed.length) {
        const scratch = document.createElementNS(SVG_NS, "g");
        scratch.innerHTML = changed.map((k) => `<g>${markups[k]}</g>`).join("");
        const fresh = [...scratch.children];
        changed.forEach((k, n) => {
            const old = group.children[k];
            if (old) group.replaceChild(fresh[n], old);
            else group.appendChild(fresh[n]);
        });
    }
    while (group.children.length > markups.length) group.lastElementChild.remove();
    group.__uotvizMarkups = markups;
}

function setHidden(elements, hidden) {
    const display = hidden ? "none" : "";
    for (const element of elements) {
        if (element.style.display !== display) element.style.display = display;
    }
}

// Draws a frame's layout (`{shapes, annotations}`, and nothing else) on the scene chart `gd`,
// in place of plotly.js's own shapes and labels; `position` is written on the painted shapes'
// group (data-position), for whoever watches the drag. False (nothing changed) when the frame
// holds anything this painter does not draw.
function paintSceneFrame(gd, layout, position) {
    const keys = Object.keys(layout);
    if (keys.some((key) => key !== "shapes" && key !== "annotations")) return false;
    const maps = pixelMaps(gd);
    const between = gd.querySelector(".subplot.xy .layer-between");
    const shapeLayer = between && between.querySelector(":scope > .shapelayer");
    const info = gd.querySelector(".infolayer");
    if (!maps || !shapeLayer || !info) return false;
    const shapes = [];
    for (const shape of layout.shapes ?? []) {
        if (shape.layer === "below") continue; // the canvas: the same in every frame
        const markup = shapeMarkup(shape, maps);
        if (markup === null) return false;
        shapes.push(markup);
    }
    const labels = [];
    for (const note of layout.annotations ?? []) {
        const markup = annotationMarkup(note, maps);
        if (markup === null) return false;
        labels.push(markup);
    }
    setHidden(shapeLayer.querySelectorAll(":scope > .shape-group"), true);
    setHidden(info.querySelectorAll(":scope > g.annotation"), true);
    const shapeGroup = paintedGroup(between, shapeLayer);
    const clip = shapeLayer.querySelector("[clip-path]");
    if (clip) shapeGroup.setAttribute("clip-path", clip.getAttribute("clip-path"));
    writeChildren(shapeGroup, shapes);
    writeChildren(paintedGroup(info, null), labels);
    shapeGroup.setAttribute("data-position", String(position));
    return true;
}


// ---------------------------------------------------------------- a plan's frames, without plotly.js
//
// A plan's frame (uotviz.plots.matrices.plan_update) changes the heatmap's values and colour
// scale, the row and column sums (the texts of traces 1 and 2), the colour bar's tick labels
// and the title. Plotly.react computes and draws the whole chart again for it (10-40 ms). Here
// the cells and their values are painted on a canvas laid over the heatmap's area (between
// plotly.js's two SVG layers, where its own picture of the cells is hidden meanwhile), colours
// interpolated in the trace's colour scale as plotly.js does, each value in the colour plotly.js
// would give it (#444 on light cells, white on dark ones); the other texts are replaced in place
// and put back as they were before the next figure is drawn. Hover labels keep the values of
// the last figure the app sent until it sends the next one.

const CELL_CANVAS = "uotviz-frame-cells";
const replacedTexts = new WeakMap(); // chart -> [[text element, its text before], ...]

function parseColor(color) {
    const text = String(color).trim();
    if (text.startsWith("#") && text.length === 7) {
        return [1, 3, 5].map((i) => parseInt(text.slice(i, i + 2), 16));
    }
    const match = text.match(/^rgba?\(([^)]*)\)$/);
    return match ? match[1].split(",").slice(0, 3).map(Number) : null;
}

// The colour of `value` in `scale` ([[t, colour], ...], t from 0 to 1) between zmin and zmax.
function scaleColor(stops, value, zmin, zmax) {
    const t = zmax > zmin ? Math.min(Math.max((value - zmin) / (zmax - zmin), 0), 1) : 0;
    let k = 1;
    while (k < stops.length - 1 && stops[k][0] < t) k += 1;
    const [t0, c0] = stops[k - 1], [t1, c1] = stops[k];
    const f = t1 > t0 ? (t - t0) / (t1 - t0) : 0;
    return c0.map((channel, i) => Math.round(channel + f * (c1[i] - channel)));
}

// Replaces the text of `element` (of its one child where it has one: a bold title's <tspan>).
function replaceText(gd, element, text) {
    if (element && element.children.length === 1) element = element.firstElementChild;
    if (!element) return;
    if (!replacedTexts.has(gd)) replacedTexts.set(gd, []);
    const list = replacedTexts.get(gd);
    if (!list.some(([known]) => known === element)) list.push([element, element.textContent]);
    element.textContent = text;
}

function cellCanvas(gd, xa, ya) {
    const container = gd.querySelector(".svg-container");
    const svgs = container ? container.querySelectorAll(":scope > svg.main-svg") : [];
    if (svgs.length < 2) return null;
    let canvas = container.querySelector(`:scope > canvas.${CELL_CANVAS}`);
    if (!canvas) {
        canvas = document.createElement("canvas");
        canvas.className = CELL_CANVAS;
        canvas.style.cssText = "position: absolute; pointer-events: none;";
        container.insertBefore(canvas, svgs[1]);
    }
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(xa._length * ratio), height = Math.round(ya._length * ratio);
    if (canvas.width !== width || canvas.height !== height) {
        canvas.width = width;
        canvas.height = height;
    }
    Object.assign(canvas.style, {
        left: `${xa._offset}px`, top: `${ya._offset}px`,
        width: `${xa._length}px`, height: `${ya._length}px`,
    });
    return canvas;
}

function paintCells(canvas, xa, ya, trace, heat, family) {
    const context = canvas.getContext("2d");
    const ratio = canvas.width / xa._length;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, xa._length, ya._length);
    const stops = trace.colorscale.map(([t, color]) => [t, parseColor(color)]);
    const decimals = String(trace.texttemplate ?? "").match(/^%\{z:\.(\d+)f\}$/);
    const size = (trace.textfont && trace.textfont.size) || 12;
    context.font = `${size}px ${family}`;
    context.textAlign = "center";
    context.textBaseline = "middle";
    const gapX = (trace.xgap ?? 0) / 2, gapY = (trace.ygap ?? 0) / 2;
    heat.z.forEach((row, i) => {
        const top = ya.l2p(i - 0.5), bottom = ya.l2p(i + 0.5);
        row.forEach((value, j) => {
            const left = xa.l2p(j - 0.5), right = xa.l2p(j + 0.5);
            const [r, g, b] = scaleColor(stops, value, heat.zmin, heat.zmax);
            context.fillStyle = `rgb(${r}, ${g}, ${b})`;
            const x0 = Math.min(left, right) + gapX, y0 = Math.min(top, bottom) + gapY;
            context.fillRect(x0, y0, Math.abs(right - left) - 2 * gapX,
                Math.abs(bottom - top) - 2 * gapY);
            if (decimals) {
                const dark = (r * 299 + g * 587 + b * 114) / 1000 < 128;
                context.fillStyle = dark ? "#fff" : "#444";
                context.fillText(value.toFixed(Number(decimals[1])), (left + right) / 2,
                    (top + bottom) / 2);
            }
        });
    });
}

// Draws a plan's frame (`frame`: {layout, traces}, see above) over the heatmap chart `gd`, whose
// last figure from the app is `figure`. False (nothing changed) when the frame or the chart is
// not what this painter knows.
function paintHeatmapFrame(gd, figure, frame) {
    const layoutKeys = Object.keys(frame.layout);
    const heat = frame.traces["0"];
    const trace = figure.data[0];
    const full = gd._fullLayout;
    if (layoutKeys.some((key) => key !== "title.text") || !heat || !Array.isArray(heat.z)) return false;
    if (!trace || trace.type !== "heatmap" || !Array.isArray(trace.colorscale) || !full) return false;
    if (trace.texttemplate && !/^%\{z:\.(\d+)f\}$/.test(trace.texttemplate)) return false;
    const xa = full.xaxis, ya = full.yaxis;
    const group = gd.querySelector(".heatmaplayer .hm");
    if (!xa || !ya || typeof xa.l2p !== "function" || !group) return false;
    const sums = Object.keys(frame.traces).filter((key) => key !== "0");
    for (const key of sums) {
        const entry = gd.calcdata && gd.calcdata[Number(key)];
        const keys = Object.keys(frame.traces[key]);
        if (!entry || !entry[0].node3 || keys.length !== 1 || keys[0] !== "text") return false;
    }
    const canvas = cellCanvas(gd, xa, ya);
    if (!canvas) return false;
    paintCells(canvas, xa, ya, trace, heat, (full.font && full.font.family) || "sans-serif");
    setHidden(group.querySelectorAll(":scope > image, :scope > .heatmap-label"), true);
    for (const key of sums) {
        const texts = gd.calcdata[Number(key)][0].node3.node().querySelectorAll(".textpoint text");
        frame.traces[key].text.forEach((text, k) => replaceText(gd, texts[k], text));
    }
    const ticks = heat["colorbar.ticktext"];
    const tickTexts = gd.querySelectorAll(".colorbar .cbaxis text");
    if (Array.isArray(ticks) && ticks.length === tickTexts.length) {
        ticks.forEach((text, k) => replaceText(gd, tickTexts[k], text));
    }
    if (frame.layout["title.text"] !== undefined) {
        replaceText(gd, gd.querySelector(".infolayer .gtitle"), plainText(frame.layout["title.text"]));
    }
    return true;
}

// Takes a painted frame away: plotly.js's shapes, labels and cells shown again, texts replaced
// in place put back (plotly.js redraws only what a new figure changes).
function restorePlotlyFrame(gd) {
    const painted = gd.querySelectorAll(`g.${PAINTED}, canvas.${CELL_CANVAS}`);
    const replaced = replacedTexts.get(gd);
    if (!painted.length && !replaced) return;
    painted.forEach((element) => element.remove());
    setHidden(gd.querySelectorAll(".layer-between > .shapelayer > .shape-group"), false);
    setHidden(gd.querySelectorAll(".infolayer > g.annotation"), false);
    setHidden(gd.querySelectorAll(".heatmaplayer .hm > image, .heatmaplayer .hm > .heatmap-label"), false);
    for (const [element, text] of replaced ?? []) element.textContent = text;
    replacedTexts.delete(gd);
}
