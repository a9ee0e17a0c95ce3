// A light, sortable table: a click on a column's header sorts the rows by it (again: the other
// way). The sort is kept when the app sends new rows (a slider step), and every cell is written
// as text. Far cheaper to redraw at every step than st.dataframe's grid.
//
// data: {columns: [{name, help, digits (numbers) or null (text)}], rows: [[cell, ...]],
// maxHeight: px before the table scrolls}.

function numeric(digits) {
    return digits !== null && digits !== undefined;
}

function formatted(value, digits) {
    if (!numeric(digits) || typeof value !== "number") return String(value);
    return value.toFixed(digits);
}

function sortedRows(state, rows) {
    if (state.sortColumn === null) return rows;
    const k = state.sortColumn, sign = state.descending ? -1 : 1;
    const key = (row) => row[k];
    return [...rows].sort((a, b) => {
        const x = key(a), y = key(b);
        if (typeof x === "number" && typeof y === "number") return sign * (x - y);
        return sign * String(x).localeCompare(String(y), undefined, { numeric: true });
    });
}

function renderHead(state) {
    const { columns } = state.data;
    const key = JSON.stringify([columns, state.sortColumn, state.descending]);
    if (key === state.headKey) return;
    state.headKey = key;
    state.head.replaceChildren();
    columns.forEach((column, k) => {
        const th = document.createElement("th");
        th.scope = "col";
        const button = document.createElement("button");
        button.type = "button";
        const arrow = state.sortColumn === k ? (state.descending ? " ▼" : " ▲") : "";
        button.textContent = column.name + arrow;
        if (column.help) button.title = column.help;
        button.addEventListener("click", () => {
            state.descending = state.sortColumn === k ? !state.descending : false;
            state.sortColumn = k;
            render(state);
        });
        th.setAttribute(
            "aria-sort",
            state.sortColumn === k ? (state.descending ? "descending" : "ascending") : "none"
        );
        if (numeric(column.digits)) th.className = "number";
        th.appendChild(button);
        state.head.appendChild(th);
    });
}

// The rows are written into the cells already there, each text only where it changed: at a
// slider step most cells keep theirs, and the browser then restyles and lays out only those
// that changed.
function render(state) {
    const { columns, rows } = state.data;
    renderHead(state);
    const body = state.body;
    while (body.rows.length > rows.length) body.lastElementChild.remove();
    while (body.rows.length < rows.length) body.appendChild(document.createElement("tr"));
    sortedRows(state, rows).forEach((row, i) => {
        const tr = body.rows[i];
        while (tr.cells.length > row.length) tr.lastElementChild.remove();
        while (tr.cells.length < row.length) tr.appendChild(document.createElement("td"));
        row.forEach((cell, k) => {
            const td = tr.cells[k];
            const digits = columns[k].digits;
            const text = formatted(cell, digits);
            const className = numeric(digits) ? "number" : "";
            if (td.textContent !== text) td.textContent = text;
            if (td.className !== className) td.className = className;
        });
    });
}

export default function ({ data, parentElement }) {
    let state = parentElement.__uotvizTable;
    if (!state) {
        const box = document.createElement("div");
        box.className = "uotviz-table";
        const table = document.createElement("table");
        const thead = document.createElement("thead");
        const head = document.createElement("tr");
        const body = document.createElement("tbody");
        thead.appendChild(head);
        table.append(thead, body);
        box.appendChild(table);
        parentElement.appendChild(box);
        state = { box, head, body, sortColumn: null, descending: false };
        parentElement.__uotvizTable = state;
    }
    state.data = data;
    state.box.style.maxHeight = `${data.maxHeight ?? 360}px`;
    render(state);
}
