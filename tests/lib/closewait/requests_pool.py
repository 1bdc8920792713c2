# SPDX-License-Identifier: MIT
# A requests.Session (urllib3 pool) that makes N concurrent requests, then
# idles with its connections pooled. Run with Debian's /usr/bin/python3.
#   requests_pool.py URL N      prints "ready" once the requests are done
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

url, n = sys.argv[1], int(sys.argv[2])
session = requests.Session()
session.mount("http://", requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=n))
with ThreadPoolExecutor(n) as ex:
    list(ex.map(lambda _: session.get(url, timeout=5).text, range(n * 4)))
print("ready", flush=True)
time.sleep(3600)
