// The transport parameters' sliders (ε, τ1, τ2): native range inputs over the positions of
// their scales, so that they are accessible as they are (role slider, an aria-label, arrows,
// Home and End, Page Up and Page Down).
//
// A key press (or a click on the track) is a step: its position is sent to the app at once when
// no step is in flight; otherwise it is kept, and the newest kept position is sent when the app
// has finished the step in flight (the "uotviz:settled" event of uotviz/ui/js/url_sync.js,
// which names the last step the app ran).
//
// A mouse drag is drawn in the browser: when the button goes down on a slider, the app is told
// which slider is dragged ("dragging") and sends, with its next figures, the frames of every
// position of that slider (uotviz.ui.charts.live_chart). Each position the drag then reaches is
// announced to the charts ("uotviz:preview"), which draw its frame at once; when the button is
// released, the last position is sent to the app as a step.
//
// Play (the app's "Play" popover): the app sets the start of a walk from one preset to another
// and sends, with its next figures, the frames of every point of the walk (named "play"); the
// sliders then walk there by themselves, one point at a time: each slider's thumb goes to its
// position at that point and the point's number is announced ("uotviz:preview", as a drag
// announces a position), and the last point is sent as a step. A hand on a slider (the mouse or
// a key) stops the walk where it is.
//
// data: {sliders: [{name, label, help, values: [text per position], position}], step: the
// last step the app ran, session: the app session's id, play: {name: the frames' name, path:
// [{<slider name>: position, ...} per point], id} while a walk is asked for, else null}.
// State sent: "positions", {step, session, dragging: name or null, <name>: position, ...}.

const SAFETY_MS = 3000; // a step not reported as run by then no longer holds the next back
const PLAY_STEP_MS = 90; // a walk's slowest pace: a 43-point walk lasts about 4 s ...
const PLAY_TOTAL_MS = 6000; // ... and a longer one about 6 s ...
const PLAY_FASTEST_MS = 50; // ... unless that is faster than this per point
const PLAY_WAIT_MS = 2000; // a walk starts when its frames have come, or after this at most

function build(host, sliders) {
    const root = document.createElement("div");
    root.className = "uotviz-sliders";
    const rows = {};
    for (const slider of sliders) {
        const box = document.createElement("div");
        box.className = "uotviz-slider";
        const head = document.createElement("div");
        head.className = "uotviz-slider-head";
        const label = document.createElement("span");
        label.className = "uotviz-slider-label";
        label.textContent = slider.label;
        label.title = slider.help;
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
        rows[slider.name] = { input, value, values: slider.values };
    }
    host.appendChild(root);
    return rows;
}

function show(row, position) {
    const text = row.values[position] ?? "";
    row.input.value = String(position);
    row.input.setAttribute("aria-valuetext", text);
    row.value.textContent = text;
}

function send(state) {
    if (state.inFlight || !state.pending) return;
    state.pending = false;
    const positions = { dragging: state.dragging };
    for (const [name, row] of Object.entries(state.rows)) positions[name] = Number(row.input.value);
    const key = JSON.stringify(positions);
    if (key === state.sent) return; // a key press fires "input" and "change": one step
    state.sent = key;
    state.inFlight = true;
    state.step += 1;
    // The session's id keeps a first step of a new session from equalling the old session's
    // first step, which Streamlit would not send again.
    state.setStateValue("positions", { step: state.step, session: state.session, ...positions });
    clearTimeout(state.safety);
    state.safety = setTimeout(() => settled(state, state.step), SAFETY_MS);
}

function settled(state, step) {
    if (step < state.step) return; // an earlier step: the newest is still in flight
    state.inFlight = false;
    clearTimeout(state.safety);
    send(state);
}

function preview(name, position) {
    window.__uotvizPreview = { slider: name, position };
    window.dispatchEvent(new CustomEvent("uotviz:preview"));
}

function play(state, request) {
    state.playing = request;
    state.dragging = request.name;
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
        state = { rows: build(parentElement, data.sliders), step: data.step ?? 0 };
        state.inFlight = false;
        state.pending = false;
        state.dragging = null;
        for (const [name, row] of Object.entries(state.rows)) {
            const moved = () => {
                if (state.playing) stopPlaying(state); // a key stops a walk where it is
                const position = Number(row.input.value);
                show(row, position);
                if (state.dragging === name) {
                    preview(name, position);
                    return;
                }
                state.pending = true;
                send(state);
            };
            row.input.addEventListener("input", moved);
            row.input.addEventListener("change", moved);
            row.input.addEventListener("pointerdown", (event) => {
                if (event.button !== 0) return;
                state.playing = null; // a hand on a slider stops a walk
                state.dragging = name;
                window.__uotvizPreview = null;
                state.pending = true;
                send(state); // asks the app for this slider's frames
            });
        }
        state.playedId = data.play?.id ?? null; // what was played before this page: not again
        state.onRelease = () => {
            if (state.dragging === null || state.playing) return;
            state.dragging = null;
            window.__uotvizPreview = null;
            state.pending = true;
            send(state); // the last position, drawn by the app
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
        state.sent = JSON.stringify({
            dragging: state.dragging,
            ...Object.fromEntries(data.sliders.map((slider) => [slider.name, slider.position])),
        });
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
        }, 0);
    };
}
