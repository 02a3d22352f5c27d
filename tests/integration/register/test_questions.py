"""The questions asked in Airflow, noted by the task instance that asked (on SQLite and PostgreSQL)."""

from adc.register.questions import note_asking


def test_a_task_instance_is_noted_once_and_a_new_try_asks_afresh(register):
    assert note_asking(register, "ti-1") is False
    assert note_asking(register, "ti-1") is True  # Airflow's own retry of the same task instance
    assert note_asking(register, "ti-2") is False  # a try after a failure of its own has a new id
    assert note_asking(register, "ti-2") is True
