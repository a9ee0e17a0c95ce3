// One Plotly chart kept mounted and redrawn in place (Plotly.react) when its figure changes, at
// the width of its column (measured here, and reported to the app whenever it differs from the
// width the app last knew, `data.known`, so that the server can size the figure's height).
// Clicks are sent to the app as trigger values. plotly.js is loaded once per page from the URL
// in the data (see uotviz.ui.charts.media_url). The two placeholders below are replaced by
// uotviz.ui.charts.TEXT_COLOR and FONT when the file is read.
const TEXT_COLOR = "__TEXT_COLOR__";
const FONT = '__FONT__';
let plotlyLoading = null;

function loadPlotly(url) {
    if (window.Plotly) return Promise.resolve(window.Plotly);
    if (!plotlyLoading) {
        plotlyLoading = new Promise((resolve, reject) => {
            const script = document.createElement("script");
            script.src = url;
            script.onload = () => resolve(window.Plotly);
            script.onerror = () => {
                plotlyLoading = null;
                reject(new Error(`plotly.js did not load from ${url}`));
            };
            document.head.appendChild(script);
        });
    }
    return plotlyLoading;
}

// Hover texts sent beside the figure (see `step_texts`): the traces have hoverinfo "none",
// and this tooltip shows the text of the point under the pointer. The texts are the app's
// own labels, with <b> and <br> as their only markup and names HTML-escaped (as Plotly reads
// them); everything else is written as text, the escapes read back.
const ENTITIES = { "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'", "&amp;": "&" };

function unescaped(text) {
    return text.replace(/&(lt|gt|quot|#x27|amp);/g, (entity) => ENTITIES[entity]);
}

function fillTooltip(tip, text) {
    tip.replaceChildren();
    String(text).split("<br>").forEach((line, index) => {
        if (index) tip.appendChild(document.createElement("br"));
        line.split(/(<b>.*?<[/]b>)/).forEach((part) => {
            const bold = part.startsWith("<b>") && part.endsWith("</b>");
            const node = bold
                ? document.createElement("b")
                : document.createTextNode(unescaped(part));
            if (bold) node.textContent = unescaped(part.slice(3, -4));
            if (part) tip.appendChild(node);
        });
    });
}

// A trace's texts are listed by point, or by an id (`{key, texts}`: the point's text is
// `texts[customdata[key]]`), when many points share one text (a box's edges).
function stepText(state, point) {
    const entry = point && state.hover ? state.hover[point.curveNumber] : null;
    if (!entry) return null;
    if (Array.isArray(entry)) return entry[point.pointNumber] ?? null;
    const id = Array.isArray(point.customdata) ? point.customdata[entry.key] : null;
    return id === null || id === undefined ? null : entry.texts[id] ?? null;
}

function showTooltip(state, event) {
    const point = event.points && event.points[0];
    const text = stepText(state, point);
    if (!text || !event.event) return hideTooltip(state);
    fillTooltip(state.tip, text);
    state.tip.style.display = "block";
    const box = state.box.getBoundingClientRect();
    const x = event.event.clientX - box.left, y = event.event.clientY - box.top;
    const width = state.tip.offsetWidth, height = state.tip.offsetHeight;
    const left = x + 14 + width <= box.width ? x + 14 : Math.max(0, x - 14 - width);
    const top = Math.min(Math.max(0, y - height / 2), Math.max(0, box.height - height));
    state.tip.style.left = `${left}px`;
    state.tip.style.top = `${top}px`;
}

function hideTooltip(state) {
    state.tip.style.display = "none";
}

// The chart's box has the size of the figure and layout containment: what plotly.js changes
// inside it never makes the browser lay out the rest of the page again. It is also its own
// compositing layer (will-change): a drag's frames, repainted 30 times a second, cost the
// browser half the layer work they cost as part of the page.
function sizeBox(state, width, height) {
    state.box.style.width = `${width}px`;
    state.box.style.height = `${height}px`;
}

// The host's width, read where it forces no layout: a draw takes the width the resize observer
// last reported (reading it in the middle of React's commit would make the browser lay out the
// whole page there, and again when the commit ends); only a first draw reads it.
function widthOf(element) {
    return Math.floor(element.getBoundingClientRect().width);
}

function report(state, width) {
    // Widths the app would refuse are not sent: it would never know them, and ask again.
    if (width < 150 || width > 10000 || width === state.known || width === state.sent) return;
    state.sent = width;
    state.setStateValue("width", width);
}

async function draw(state) {
    const Plotly = await loadPlotly(state.pending.plotly);
    while (state.pending) {
        const data = state.pending;
        state.pending = null;
        const known = data.known ?? null;
        if (known !== state.known) state.sent = null; // what the app knows changed: tell it anew
        state.known = known;
        state.hover = data.hover ?? null;
        const width = state.width ?? widthOf(state.host);
        const config = JSON.stringify(data.config);
        // The same figure at the same width (a run that only brought frames) is left as drawn,
        // and so is a drag's frame on it while the drag goes on.
        const same = data.figure === state.figureText && config === state.configText &&
            (width <= 0 || width === state.gd._fullLayout?.width) &&
            (state.previewShown === null || window.__uotvizPreview);
        if (!same) {
            const figure = JSON.parse(data.figure);
            if (width > 0) figure.layout.width = width;
            const base = data.paintBase ?? null;
            const paintable = base !== null && base === state.paintBase && config === state.configText;
            if (!(paintable && paintStep(state, figure))) {
                sizeBox(state, figure.layout.width ?? 700, figure.layout.height ?? 450);
                restorePlotlyFrame(state.gd);
                state.previewByPlotly = false;
                state.behind = false;
                await Plotly.react(state.gd, figure.data, figure.layout, data.config);
            }
            state.paintBase = base;
            state.figure = figure;
            state.figureText = data.figure;
            state.config = data.config;
            state.configText = config;
            state.previewShown = null;
        }
        if (state.frames) schedulePreview(state); // the drag may already have moved on
        if (!state.listening) {
            state.listening = true;
            state.gd.on("plotly_click", (event) => {
                const point = event.points && event.points[0];
                if (!point) return;
                state.setTriggerValue("click", {
                    customdata: point.customdata ?? null,
                    text: point.text ?? stepText(state, point),
                    hovertext: point.hovertext ?? null,
                });
            });
            // A label's annotation is named "row,column": a click on it is a click on its box.
            state.gd.on("plotly_clickannotation", (event) => {
                const name = event.annotation && event.annotation.name;
                const ids = String(name ?? "").split(",").map(Number);
                if (ids.length !== 2 || ids.some((id) => !Number.isInteger(id))) return;
                state.setTriggerValue("click", { customdata: ids, text: null, hovertext: null });
            });
            state.gd.on("plotly_hover", (event) => showTooltip(state, event));
            state.gd.on("plotly_unhover", () => hideTooltip(state));
        }
        report(state, width);
    }
}

// Frames of a slider drag (see uotviz.ui.charts.live_chart): while the mouse drags a slider,
// uotviz/ui/js/sliders.js announces each position ("uotviz:preview", the latest one also in
// window.__uotvizPreview) and a chart holding that slider's frames draws the frame at once,
// without the app. A frame replaces layout attributes (shapes, annotations, a title) and trace
// attributes (a heatmap's values, scale and sums), named as Plotly.update names them
// ("colorbar.tickvals"). A scene's frame (shapes and labels alone) is painted as plain SVG
// (frame_painter.js: a few milliseconds); any other frame is drawn with Plotly.react on the last
// figure the app sent, a new data revision making it compute the traces again. At most one
// frame per animation frame, and a chart whose frames take plotly.js long (a plan's heatmap:
// 10-40 ms) draws its next one only after twice that time has passed: the picture keeps the
// pace of the drag, the plan follows it at a lower rate, and the last position is always drawn.
const PLOTLY_FRAME_SHARE = 2; // idle time after a Plotly.react frame, in multiples of its cost
function withUpdates(target, updates) {
    const copy = { ...target };
    for (const [path, value] of Object.entries(updates)) {
        const keys = path.split(".");
        let node = copy;
        for (const key of keys.slice(0, -1)) {
            node[key] = { ...(node[key] ?? {}) };
            node = node[key];
        }
        node[keys[keys.length - 1]] = value;
    }
    return copy;
}

// The frames a chart holds, by the name of their slider (or "play"), each with the positions
// of the sliders they were computed at: kept until the app sends another figure, and announced
// to the sliders (window.__uotvizFramesHeld: by chart, the positions of each set held, as
// "i,j,k"), which then do not ask for them again.
function keepFrames(state, data) {
    if (data.figure !== state.framedFigure) {
        state.frames = null;
        state.framedFigure = data.figure;
    }
    if (data.frames) {
        const set = JSON.parse(data.frames);
        state.frames = { ...(state.frames ?? {}), [set.slider]: set };
    }
    window.__uotvizFramesHeld ??= {};
    if (state.frames) {
        window.__uotvizFramesHeld[state.id] = Object.fromEntries(
            Object.values(state.frames).map((set) => [set.slider, set.at]),
        );
    } else if (window.__uotvizFramesHeld[state.id]) {
        window.__uotvizFramesHeld[state.id] = {};
    }
}

function applyPreview(state) {
    state.previewQueued = false;
    const want = window.__uotvizPreview;
    if (!want) return showFigure(state);
    const frames = state.frames?.[want.slider];
    if (!frames || !state.figure) return;
    const frame = frames.frames[want.position];
    if (!frame || state.previewShown === frame) return;
    state.previewShown = frame;
    const changed = Object.keys(frame.traces).length > 0;
    // Scenes' and plans' frames are painted without plotly.js (frame_painter.js).
    if (!changed && paintSceneFrame(state.gd, frame.layout, want.position)) return;
    if (changed && paintHeatmapFrame(state.gd, state.figure, frame)) return;
    const data = state.figure.data.map((trace, i) =>
        frame.traces[i] ? withUpdates(trace, frame.traces[i]) : trace
    );
    const layout = withUpdates(state.figure.layout, frame.layout);
    if (changed) layout.datarevision = `${state.figure.layout.datarevision}:${want.position}`;
    restorePlotlyFrame(state.gd);
    const began = performance.now();
    window.Plotly.react(state.gd, data, layout, state.config);
    state.previewByPlotly = true;
    state.behind = false;
    const ended = performance.now();
    state.previewReadyAt = ended + PLOTLY_FRAME_SHARE * (ended - began);
}

// A drag over (and no new figure to come): the app's last figure shown again.
function showFigure(state) {
    if (state.previewShown === null) return;
    state.previewShown = null;
    restorePlotlyFrame(state.gd);
    if (state.previewByPlotly || state.behind) {
        state.previewByPlotly = false;
        state.behind = false;
        window.Plotly.react(state.gd, state.figure.data, state.figure.layout, state.config);
    }
}

// A slider step's figure that differs from the one drawn only where a plan does (the app says
// so: the same `paintBase`), painted over it as a drag's frame is (frame_painter.js), in a few
// milliseconds where Plotly.react takes tens: the scene's shapes and labels; the plan's cells,
// sums, colour-bar ticks and title. plotly.js is then behind what is shown, and catches up
// (`catchUp`) before anything reads it: the pointer coming onto the chart (hover labels, clicks,
// the mode bar's export), a new width. False when the painter cannot draw it.
function paintStep(state, figure) {
    const gd = state.gd;
    if (!state.figure || figure.layout.height !== gd._fullLayout?.height) return false;
    if (figure.layout.width !== gd._fullLayout.width) return false;
    const [heat, rowSums, columnSums] = figure.data;
    let painted;
    if (heat?.type === "heatmap") {
        const traces = {
            0: { z: heat.z, zmin: heat.zmin, zmax: heat.zmax,
                "colorbar.ticktext": heat.colorbar?.ticktext },
        };
        if (Array.isArray(rowSums?.text)) traces[1] = { text: rowSums.text };
        if (Array.isArray(columnSums?.text)) traces[2] = { text: columnSums.text };
        const frame = { layout: { "title.text": figure.layout.title?.text }, traces };
        painted = paintHeatmapFrame(gd, figure, frame);
    } else {
        const layout = { shapes: figure.layout.shapes ?? [],
            annotations: figure.layout.annotations ?? [] };
        painted = paintSceneFrame(gd, layout, "step");
    }
    if (painted) {
        state.behind = true;
        state.previewShown = null;
    }
    return painted;
}

function catchUp(state) {
    if (!state.behind || window.__uotvizPreview) return;
    state.behind = false;
    state.previewShown = null;
    restorePlotlyFrame(state.gd);
    window.Plotly.react(state.gd, state.figure.data, state.figure.layout, state.config);
}

function schedulePreview(state) {
    if (state.previewQueued) return;
    state.previewQueued = true;
    const wait = (state.previewReadyAt ?? 0) - performance.now();
    const queue = () => requestAnimationFrame(() => applyPreview(state));
    if (wait > 0) setTimeout(queue, wait);
    else queue();
}

function resized(state) {
    const width = widthOf(state.host);
    if (width <= 0 || !window.Plotly || !state.gd._fullLayout) return;
    if (state.gd._fullLayout.width !== width) {
        catchUp(state);
        sizeBox(state, width, state.gd._fullLayout.height);
        window.Plotly.relayout(state.gd, { width });
    }
    report(state, width);
}

export default function ({ data, parentElement, setStateValue, setTriggerValue }) {
    if (!data.figure) {
        // An element with no figure only starts loading plotly.js, early in the page, for
        // the charts to come (uotviz.ui.charts.preload_plotly).
        if (data.plotly) loadPlotly(data.plotly).catch(() => {});
        return;
    }
    const host = parentElement;
    let state = host.__uotvizChart;
    if (!state) {
        const box = document.createElement("div");
        box.style.cssText = "position: relative; contain: strict; will-change: transform;";
        const gd = document.createElement("div");
        gd.className = "uotviz-chart";
        const tip = document.createElement("div");
        tip.className = "uotviz-tooltip";
        tip.style.cssText = `position: absolute; display: none; pointer-events: none; z-index: 10;
            background: white; color: ${TEXT_COLOR}; font: 13px ${FONT};
            border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 3px; padding: 4px 7px;
            white-space: nowrap; box-shadow: 0 1px 3px rgba(0, 0, 0, 0.15);`;
        box.append(gd, tip);
        box.addEventListener("pointerenter", () => catchUp(state));
        host.appendChild(box);
        state = host.__uotvizChart = { host, box, gd, tip, pending: null, busy: null, timer: null };
        state.id = Math.random().toString(36).slice(2);
        state.previewShown = null;
        state.observer = new ResizeObserver((entries) => {
            const entry = entries[entries.length - 1];
            const size = entry.borderBoxSize?.[0];
            state.width = Math.floor(size ? size.inlineSize : entry.contentRect.width);
            clearTimeout(state.timer);
            state.timer = setTimeout(() => resized(state), 150);
        });
        state.observer.observe(host);
        state.onPreview = () => schedulePreview(state);
        window.addEventListener("uotviz:preview", state.onPreview);
    }
    state.setStateValue = setStateValue;
    state.setTriggerValue = setTriggerValue;
    keepFrames(state, data);
    state.pending = data;
    if (!state.busy) {
        state.busy = draw(state)
            .catch((error) => {
                state.gd.textContent = String(error);
            })
            .finally(() => {
                state.busy = null;
            });
    }
    return () => {
        // Also called when a newer call has replaced this one: let go only of a removed host.
        setTimeout(() => {
            if (host.isConnected) return;
            state.observer.disconnect();
            clearTimeout(state.timer);
            window.removeEventListener("uotviz:preview", state.onPreview);
            delete window.__uotvizFramesHeld?.[state.id];
            if (window.Plotly) window.Plotly.purge(state.gd);
        }, 0);
    };
}
