"""The Record of Processing Activities (UK GDPR Art 30) and its periodic reviews.

tables (the record, reviews, steps), activities (the record and its history), schedule (what is
due), packs (what a reviewer is shown), reviews (opening review cycles and asking people),
outcomes (recording answers: four eyes, refusals, applied changes), exports (ICO layout, import),
forms (the questions and options, light enough for DAG files).
"""
