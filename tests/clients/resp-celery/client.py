"""Producer and state for tests/integration/test_redis_libs_celery.py:
   python3 client.py produce [noslow]  send the tasks (all but the slow one
                                       with noslow), print their ids as JSON
   python3 client.py slow              send the slow task, print its id
   python3 client.py state ID...       print each task's state and result"""
import json
import sys

from tasks import add, app, boom, flaky, later, slow

if sys.argv[1] == "produce":
    ids = {"add": [add.delay(i).id for i in range(20)]}
    ids["flaky"] = flaky.delay("f1").id
    ids["boom"] = boom.delay().id
    ids["later"] = later.apply_async((40,), countdown=1).id
    if sys.argv[2:] != ["noslow"]:
        ids["slow"] = slow.delay("victim").id
    print(json.dumps(ids))
elif sys.argv[1] == "slow":
    print(json.dumps({"slow": slow.delay("victim").id}))
else:
    out = {}
    for tid in sys.argv[2:]:
        res = app.AsyncResult(tid)
        v = res.result
        out[tid] = [res.state, v if isinstance(v, (int, str)) or v is None else repr(v)]
    print(json.dumps(out))
