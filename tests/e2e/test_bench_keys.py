"""`sdq bench` on a stack that requires keys: the key comes from SDQ_API_KEY or a header, the
finished predictions are read with it, and it never reaches the report. (Its own module: the
keyed stack must not share Redis with another stack serving the same model at the same time.)"""

from __future__ import annotations

from tests.access_fixtures import KeyedStack
from tests.helpers import bench_json


def test_keys_come_from_the_environment_or_a_header_and_stay_out_of_the_report(
    keyed: KeyedStack,
) -> None:
    url = f"{keyed.url}/sdapi/v1/txt2img"
    quick = ["-n", "2", "-c", "1", "-d", '{"prompt": "dog", "steps": 2}', url]
    bare = {k: v for k, v in keyed.stack.env.items() if k not in ("SDQ_API_KEY", "SDQ_ADMIN_KEY")}

    refused = bench_json(bare, *quick)
    assert refused["summary"]["status_codes"] == {"401": 2}

    alice = bench_json(bare | {"SDQ_API_KEY": keyed.secrets["alice"]}, *quick)
    assert alice["summary"]["status_codes"] == {"200": 2}
    assert alice["sdq"]["split_read"] == 2  # her own predictions, read with her key

    header = f"Authorization: Bearer {keyed.secrets['bob']}"
    bob = bench_json(bare | {"SDQ_API_KEY": "sdq_not_a_key"}, "-H", header, *quick)
    assert bob["summary"]["status_codes"] == {"200": 2} and bob["sdq"]["split_read"] == 2
    assert keyed.secrets["bob"] not in bob["command"]
    assert "-H 'Authorization: …'" in bob["command"]
