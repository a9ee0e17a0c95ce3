"""Keeping Streamlit's garbage collection after every script run cheap.

Streamlit runs a full ``gc.collect()`` after every run of the script, fragment runs included
(the ``runner.postScriptGC`` option, on by default). A full collection walks every object the
collector tracks; with torch, plotly and a dataset in the process that is hundreds of thousands
of long-lived objects, and the walk took longer than everything else a slider step does.

:func:`settle_heap` moves the objects alive at that moment into the collector's permanent
generation (:func:`gc.freeze`), which later collections skip. It is called at the end of every
run but acts only when something long-lived may have appeared since it last acted: a new data
source, or new modules (plotly, pandas and Streamlit import much of themselves lazily, on the
first use of a trace type or an element). The per-run collection then only walks what the runs
themselves create. Before freezing it unfreezes and collects once, so that garbage is not
frozen with the live objects, and what a previous freeze kept (an evicted dataset, say) is
collected then.
"""

from __future__ import annotations

import gc
import sys

__all__ = ["settle_heap"]

_settled: set[str] = set()


def settle_heap(source_key: str) -> bool:
    """Collect once and freeze the heap unless this process already did so with the data
    source ``source_key`` loaded and as many modules imported as now.

    Returns True when it collected and froze, False otherwise (the usual case: a no-op).
    """
    tag = f"{source_key}|{len(sys.modules)}"
    if tag in _settled:
        return False
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _settled.add(tag)
    return True
