"""Live collectors: read running systems of one environment (endpoints, databases, monitoring).

They run only when asked (``prr scan --live``), read-only, with a timeout on
every call and a bound on how much they ask.
"""
