"""uotviz from a checkout: ``streamlit run app.py`` (the demo) or
``streamlit run app.py -- --annotations A.json --images DIR [--predictions P]``.

The app is :mod:`uotviz.app`, inside the package, which an installed uotviz runs with the
``uotviz`` command; this file runs it from the checkout.
"""

from uotviz.app import run, script_args

run(script_args(__file__))
