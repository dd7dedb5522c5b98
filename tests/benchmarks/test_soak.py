"""The soak benchmark's premise: every bad input it sends is refused with a 4xx."""
from benchmarks.soak import bad_inputs


def test_the_soak_benchmarks_bad_inputs_are_refused_with_a_4xx(post_api, scan_bytes):
    """benchmarks.soak counts a bad input answered otherwise as an error."""
    statuses = {name: post_api(data).status_code for name, data in bad_inputs(scan_bytes)}
    assert all(400 <= status < 500 for status in statuses.values()), statuses
