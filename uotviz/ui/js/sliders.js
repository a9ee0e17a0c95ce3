// The transport parameters' sliders (ε, τ1, τ2): native range inputs over the positions of
// their scales, so that they are accessible as they are (role slider, an aria-label, arrows,
// Home and End, Page Up and Page Down); before them, the preset selector (a native select):
// a preset chosen moves the three sliders to its positions, sent as one step, and the selector
// always shows the preset the positions match, or Custom.
//
// A key press (or a click on the track) is a step: its position is sent to the app at once when
// no step is in flight; otherwise it is kept, and the newest kept position is sent when the app
// has finished the step in flight (the "uotviz:settled" event of uotviz/ui/js/url_sync.js,
// which names the last step the app ran).
//
// A mouse drag is drawn in the browser, from frames the app computes beforehand: when the
// pointer rests on a slider (or presses it), the app is asked ("frames": the slider's name) for
// the frames of every position of that slider, the others where they are, which it sends with
// its figures (uotviz.ui.charts.live_chart). The live charts say which frames they hold
// (window.__uotvizFramesHeld, see chart_host.js), and nothing is asked for twice. While the
// button is down, each position the drag reaches is announced to the charts
// ("uotviz:preview"), which draw its frame at once; when it is released, the last position is
// sent to the app as a step, after which a pointer still there asks for the new frames.
//
// Play (the app's "Play" popover): the app sets the start of a walk from one preset to another
// and sends, with its next figures, the frames of every point of the walk (named "play"); the
// sliders then walk there by themselves, one point at a time: each slider's thumb goes to its
// position at that point and the point's number is announced ("uotviz:preview", as a drag
// announces a position), and the last point is sent as a step. A hand on a slider (the mouse or
// a key) stops the walk where it is.
//
// data: {sliders: [{name, label, help, values: [text per position], position}], presets:
// {label, help, entries: [{name, positions: {<slider name>: position, ...} or null}]}, step: the
// last step the app ran, session: the app session's id, play: {name: the frames' name, path:
// [{<slider name>: position, ...} per point], id} while a walk is asked for, else null}.
// State sent: "positions", {step, session, frames: a slider's name or null, <name>: position,
// ...}.

const SAFETY_MS = 3000; // a step not reported as run by then no longer holds the next back
const PLAY_STEP_MS = 90; // a walk's slowest pace: a 43-point walk lasts about 4 s ...
const PLAY_TOTAL_MS = 6000; // ... and a longer one about 6 s ...
const PLAY_FASTEST_MS = 50; // ... unless that is faster than this per point
const PLAY_WAIT_MS = 2000; // a walk starts when its frames have come, or after this at most
const REST_MS = 80; // a pointer resting this long on a slider asks for its frames ...
const IDLE_MS = 600; // ... and, after a drag's last step, still there after this long

// A control's label, its help as a tooltip.
function labelOf(text, help) {
    const label = document.createElement("span");
    label.className = "uotviz-slider-label";
    label.textContent = text;
    label.title = help;
    return label;
}

// The preset selector: a native select over the presets' names (then Custom), labelled.
function buildPresets(root, presets) {
    const box = document.createElement("div");
    box.className = "uotviz-preset";
    const label = labelOf(presets.label, presets.help);
    const select = document.createElement("select");
    select.setAttribute("aria-label", presets.label);
    select.title = presets.help;
    for (const entry of presets.entries) {
        const option = document.createElement("option");
        option.value = option.textContent = entry.name;
        select.appendChild(option);
    }
    box.append(label, select);
    root.appendChild(box);
    return { select, entries: presets.entries };
}

function build(host, sliders, presets) {
    const root = document.createElement("div");
    root.className = "uotviz-sliders";
    const preset = buildPresets(root, presets);
    const rows = {};
    for (const slider of sliders) {
        const box = document.createElement("div");
        box.className = "uotviz-slider";
        const head = document.createElement("div");
        head.className = "uotviz-slider-head";
        const label = labelOf(slider.label, slider.help);
        const value = document.createElement("span");
        value.className = "uotviz-slider-value";
        head.append(label, value);
        const input = document.createElement("input");
        input.type = "range";
        input.min = "0";
        input.max = String(slider.values.length - 1);
        input.step = "1";
        input.setAttribute("aria-label", slider.label);
        input.title = slider.help;
        const ends = document.createElement("div");
        ends.className = "uotviz-slider-ends";
        const low = document.createElement("span");
        const high = document.createElement("span");
        low.textContent = slider.values[0];
        high.textContent = slider.values[slider.values.length - 1];
        ends.append(low, high);
        box.append(head, input, ends);
        root.appendChild(box);
        rows[slider.name] = { box, input, value, values: slider.values };
    }
    host.appendChild(root);
    return { rows, preset };
}

function show(row, position) {
    const text = row.values[position] ?? "";
    row.input.value = String(position);
    row.input.setAttribute("aria-valuetext", text);
    row.value.textContent = text;
}

// The selector shows the preset whose positions the sliders are at, or Custom (the entry
// with no positions), as the app names it (uotviz.ui.params.slider_moved).
function showPreset(state) {
    const { select, entries } = state.preset;
    const at = (entry) => Object.entries(entry.positions)
        .every(([name, position]) => Number(state.rows[name]?.input.value) === position);
    const match = entries.find((entry) => entry.positions && at(entry)) ??
        entries.find((entry) => !entry.positions);
    if (match && select.value !== match.name) select.value = match.name;
}

// A preset chosen: the three sliders go to its positions, sent as one step (Custom moves none).
function presetChosen(state) {
    const chosen = state.preset.select.value;
    const entry = state.preset.entries.find((candidate) => candidate.name === chosen);
    if (entry?.positions) {
        if (state.playing) stopPlaying(state);
        for (const [name, position] of Object.entries(entry.positions)) {
            if (state.rows[name]) show(state.rows[name], position);
        }
        clearTimeout(state.askTimer);
        state.pending = true;
        send(state);
    }
    showPreset(state);
}

// The positions that a slider's frames depend on, as "i,j,k" with that slider's own one "*"
// (uotviz.sliders.positions_key names the frames a chart holds the same way).
function positionsKey(state, name) {
    return Object.entries(state.rows)
        .map(([other, row]) => (other === name ? "*" : row.input.value))
        .join(",");
}

// Whether every live chart that takes frames holds `name`'s frames at the current positions.
function held(state, name) {
    const charts = Object.values(window.__uotvizFramesHeld ?? {});
    const at = positionsKey(state, name);
    return charts.length > 0 && charts.every((chart) => chart[name] === at);
}

// Asks the app for the frames of slider `name` at the current positions, unless the charts
// hold them, they are on their way, or the app sent none when last asked for them there.
function askFrames(state, name) {
    const key = `${name}@${positionsKey(state, name)}`;
    if (held(state, name) || state.asked?.key === key || state.refused === key) return;
    state.asked = { key, name, step: state.step + 1 };
    state.framesWanted = name;
    state.pending = true;
    send(state);
}

// After a pointer's rest, or a drag's last step: the frames of the slider under the pointer.
function askSoon(state, wait) {
    clearTimeout(state.askTimer);
    state.askTimer = setTimeout(() => {
        const name = state.dragging ?? state.hovered;
        if (name && name !== "play" && !state.playing) askFrames(state, name);
    }, wait);
}

function send(state) {
    if (state.inFlight || !state.pending) return;
    state.pending = false;
    const positions = {};
    for (const [name, row] of Object.entries(state.rows)) positions[name] = Number(row.input.value);
    // While the mouse drags a slider, the app keeps it where the drag began: what it draws
    // meanwhile (a run that brings frames) stays as it is, under the drag's frames.
    if (state.dragging in positions) positions[state.dragging] = state.dragFrom;
    const key = JSON.stringify(positions);
    const frames = state.framesWanted ?? null;
    state.framesWanted = null;
    if (key === state.sent && frames === null) {
        // Nothing new (a key press fires "input" and "change", a drag ended where the app has
        // drawn): a chart still showing a drag's frame shows the app's figure again.
        if (!window.__uotvizPreview) window.dispatchEvent(new CustomEvent("uotviz:preview"));
        return;
    }
    state.sent = key;
    state.inFlight = true;
    state.step += 1;
    if (state.asked && frames === null) state.asked = null; // a step moves past any frames asked
    // The session's id keeps a first step of a new session from equalling the old session's
    // first step, which Streamlit would not send again.
    state.setStateValue("positions", {
        step: state.step, session: state.session, frames, ...positions,
    });
    clearTimeout(state.safety);
    state.safety = setTimeout(() => settled(state, state.step), SAFETY_MS);
}

function settled(state, step) {
    if (step < state.step) return; // an earlier step: the newest is still in flight
    state.inFlight = false;
    clearTimeout(state.safety);
    const asked = state.asked;
    if (asked && step >= asked.step) {
        // The app has run the request: frames it did not send are not asked for again there.
        if (!held(state, asked.name)) state.refused = asked.key;
        state.asked = null;
    }
    send(state);
    if (state.pending || state.inFlight) return;
    if (state.dragging in state.rows) {
        askFrames(state, state.dragging); // a run during the drag may have replaced the figure
    } else if (state.released) {
        state.released = false;
        askSoon(state, IDLE_MS); // the hand is still there: ready for another drag
    }
}

function preview(name, position) {
    window.__uotvizPreview = { slider: name, position };
    window.dispatchEvent(new CustomEvent("uotviz:preview"));
}

function play(state, request) {
    state.playing = request;
    state.dragging = request.name;
    clearTimeout(state.askTimer);
    const pace = Math.min(
        PLAY_STEP_MS,
        Math.max(PLAY_FASTEST_MS, PLAY_TOTAL_MS / Math.max(request.path.length, 1)),
    );
    let started = false;
    const start = () => {
        if (started) return;
        started = true;
        walk(state, request, 0, pace);
    };
    // The run that asked for the walk also brings its frames: start when it has settled.
    window.addEventListener("uotviz:settled", () => setTimeout(start, 50), { once: true });
    setTimeout(start, PLAY_WAIT_MS);
}

function walk(state, request, point, pace) {
    if (state.playing !== request) return;
    for (const [name, position] of Object.entries(request.path[point] ?? {})) {
        if (state.rows[name]) show(state.rows[name], position);
    }
    showPreset(state);
    preview(request.name, point);
    if (point >= request.path.length - 1) {
        setTimeout(() => {
            if (state.playing !== request) return;
            stopPlaying(state);
            state.pending = true;
            send(state); // the last point, drawn by the app
        }, pace);
        return;
    }
    setTimeout(() => walk(state, request, point + 1, pace), pace);
}

function stopPlaying(state) {
    state.playing = null;
    state.dragging = null;
    window.__uotvizPreview = null;
}

export default function ({ data, parentElement, setStateValue }) {
    let state = parentElement.__uotvizSliders;
    if (!state) {
        state = { ...build(parentElement, data.sliders, data.presets), step: data.step ?? 0 };
        state.preset.select.addEventListener("change", () => presetChosen(state));
        state.inFlight = false;
        state.pending = false;
        state.dragging = null;
        for (const [name, row] of Object.entries(state.rows)) {
            const moved = () => {
                if (state.playing) stopPlaying(state); // a key stops a walk where it is
                const position = Number(row.input.value);
                show(row, position);
                showPreset(state);
                if (state.dragging === name) {
                    preview(name, position);
                    return;
                }
                clearTimeout(state.askTimer);
                state.pending = true;
                send(state);
            };
            row.input.addEventListener("input", moved);
            row.input.addEventListener("change", moved);
            row.input.addEventListener("pointerdown", (event) => {
                if (event.button !== 0) return;
                state.playing = null; // a hand on a slider stops a walk
                state.dragging = name;
                state.dragFrom = Number(row.input.value); // the thumb moves after this event
                window.__uotvizPreview = null;
                askFrames(state, name);
            });
            row.box.addEventListener("pointerenter", () => {
                state.hovered = name;
                askSoon(state, REST_MS);
            });
            row.box.addEventListener("pointerleave", () => {
                if (state.hovered === name) state.hovered = null;
            });
        }
        state.playedId = data.play?.id ?? null; // what was played before this page: not again
        state.onRelease = () => {
            if (state.dragging === null || state.playing) return;
            state.dragging = null;
            state.released = true;
            window.__uotvizPreview = null;
            state.pending = true;
            send(state); // the last position (if it moved), drawn by the app
        };
        window.addEventListener("pointerup", state.onRelease);
        window.addEventListener("pointercancel", state.onRelease);
        state.onSettled = (event) => settled(state, Number(event.detail ?? 0));
        window.addEventListener("uotviz:settled", state.onSettled);
        parentElement.__uotvizSliders = state;
    }
    state.setStateValue = setStateValue;
    if (data.session !== state.session) {
        // A new session (the server restarted under this page): its step count starts again,
        // and the positions on screen win. The new session took its values from the query
        // Streamlit kept, older than the address bar that slider steps write in the browser
        // (uotviz/ui/js/url_sync.js): they are sent as a step when they differ.
        const reconnected = state.session !== undefined;
        state.session = data.session;
        state.step = 0;
        state.inFlight = false;
        state.sent = null;
        const onScreen = (slider) => Number(state.rows[slider.name].input.value);
        if (reconnected && data.sliders.some((slider) => onScreen(slider) !== slider.position)) {
            state.pending = true;
            send(state);
        }
    }
    const ran = data.step ?? 0;
    // The app's values (a preset, a URL, a step it ran) are shown once it has run the last
    // step sent, and unless the user has moved a slider since: a run that started before
    // (a slow one, or one for a chart's width) carries older values.
    const current = ran >= state.step;
    state.step = Math.max(state.step, ran);
    if (current && !state.pending && state.dragging === null) {
        for (const slider of data.sliders) show(state.rows[slider.name], slider.position);
        showPreset(state);
        state.sent = JSON.stringify(
            Object.fromEntries(data.sliders.map((slider) => [slider.name, slider.position])),
        );
    }
    if (data.play && data.play.id !== state.playedId) {
        state.playedId = data.play.id;
        play(state, data.play);
    }
    return () => {
        setTimeout(() => {
            if (parentElement.isConnected) return;
            window.removeEventListener("uotviz:settled", state.onSettled);
            window.removeEventListener("pointerup", state.onRelease);
            window.removeEventListener("pointercancel", state.onRelease);
            clearTimeout(state.safety);
            clearTimeout(state.askTimer);
        }, 0);
    };
}
