from datetime import date

from careshare.pipeline import Readiness


def test_a_date_is_ready_when_every_feed_has_settled():
    day = date(2020, 12, 1)
    settled = {"ct_care_homes": "loaded", "ct_home_care": "failed", "cqc_update": "absent"}
    assert Readiness(day, settled, directory_loaded=True).ready
    assert not Readiness(day, settled, directory_loaded=False).ready
    assert not Readiness(day, settled | {"cqc_update": "waiting"}, directory_loaded=True).ready
    assert not Readiness(day, {"ct_care_homes": "loaded", "ct_home_care": "loaded"}, directory_loaded=True).ready


def test_a_feed_not_collected_on_the_date_need_not_report_its_absence():
    after_the_cqc_form_closed = date(2021, 3, 31)
    both_ct = {"ct_care_homes": "loaded", "ct_home_care": "loaded"}
    assert Readiness(after_the_cqc_form_closed, both_ct, directory_loaded=True).ready
    saturday = date(2020, 12, 5)
    assert Readiness(saturday, both_ct, directory_loaded=True).ready
    before_ct_home_care = date(2020, 11, 27)
    assert Readiness(before_ct_home_care, {"ct_care_homes": "loaded", "cqc_update": "loaded"}, True).ready
    assert not Readiness(before_ct_home_care, {"ct_care_homes": "loaded"}, True).ready
