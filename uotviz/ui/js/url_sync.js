// The last element of a slider step: sets the app's parameters in the address bar (null:
// removes one), leaving any other query parameter as it is, and replaces the history entry
// rather than adding one. Then it tells the sliders (uotviz/ui/js/sliders.js) which of their
// steps the app has run: being last, it arrives when everything the step drew has been sent.
export default function ({ data }) {
    const url = new URL(window.location.href);
    for (const [name, value] of Object.entries(data.params || {})) {
        if (value === null) url.searchParams.delete(name);
        else url.searchParams.set(name, value);
    }
    if (url.href !== window.location.href) {
        window.history.replaceState(window.history.state, "", url.href);
    }
    window.dispatchEvent(new CustomEvent("uotviz:settled", { detail: data.settled ?? 0 }));
}
