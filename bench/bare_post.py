"""The floor for bench/fire_latency.py: a bare loopback POST, made at an instant.

A process of its own, at the daemon's priority, beside the same load: it sleeps until each
instant given and then POSTs a call to the stand-in over one kept-alive connection, with
nothing else to do. Instants that are equal are sent one after another, as fast as one
thread can. What separates the daemon's figures from these is alarmd's own cost.

    python bench/bare_post.py PORT ACCOUNT TOKEN FROM TO LABEL INSTANT...

Each POST says "<LABEL> <index>", so the bench tells its arrivals apart.
"""

from __future__ import annotations

import base64
import http.client
import sys
import time
from urllib.parse import urlencode


def main() -> None:
    port, account, token, from_, to, label, *instants = sys.argv[1:]
    auth = base64.b64encode(f"{account}:{token}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}", "Content-Type": "application/x-www-form-urlencoded"}
    path = f"/2010-04-01/Accounts/{account}/Calls.json"
    connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
    connection.connect()  # connected ahead, as a warm pool would be
    for index, instant in enumerate(float(i) for i in instants):
        left = instant - time.time()
        if left > 0:
            time.sleep(left)
        body = urlencode({"To": to, "From": from_, "Twiml": f"<Response><Say>{label} {index}</Say></Response>"})
        connection.request("POST", path, body, headers)
        connection.getresponse().read()
    connection.close()


if __name__ == "__main__":
    main()
