"""The front page: the register at a glance, each chart linking to the list behind it; and the
stylesheet every page's frame loads."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from adc.register import SEVERITIES
from adc.register.forms import KIND_TITLES
from adc.ui import charts, queries
from adc.ui.deps import VisibleDep, reader, render, url

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, visible: VisibleDep):
    today = request.app.state.today()
    with reader(request).connect() as conn:
        summary = queries.asset_summary(conn, visible)
        findings = queries.finding_summary(conn, visible)
        reviews = queries.review_summary(conn, visible, today)
        coverage = queries.coverage_history(conn, visible)
        latest = queries.latest_reconciliation(conn)
        shared = queries.shared_counts(conn, visible)
    open_by_kind = sorted(findings["open"].items(),
                          key=lambda item: [-item[1].get(s, 0) for s in SEVERITIES] + [item[0]])
    return render(
        request, "dashboard.html", summary=summary, findings=findings, reviews=reviews, latest=latest, shared=shared,
        coverage=coverage[-1] if coverage else None,
        charts={
            "status": charts.single(list(summary["by_status"].items()),
                                    {"active": "ok", "missing": "bad", "retired": "muted"},
                                    hrefs={s: url(request, "/assets", status=s) for s in summary["by_status"]}),
            "marking": charts.single(list(summary["by_marking"].items()), "bar",
                                     hrefs={m: url(request, "/assets", classification=m)
                                            for m in summary["by_marking"]}),
            "personal": charts.single(list(summary["personal"].items()),
                                      {"special category": "bad", "criminal offence": "bad",
                                       "personal (other)": "warn", "no personal data": "muted"}),
            "findings": charts.bars([(KIND_TITLES.get(k, k), v) for k, v in open_by_kind],
                                    [(s, f"sev-{s}") for s in SEVERITIES],
                                    hrefs={KIND_TITLES.get(k, k): url(request, "/findings", kind=k)
                                           for k, _ in open_by_kind}),
            "reviews": charts.single(
                [("overdue", len(reviews["overdue"])), ("due", len(reviews["due"])),
                 ("under way", sum(reviews["under_way"].values())),
                 ("completed (12 months)", reviews["completed_total"])],
                {"overdue": "bad", "due": "warn", "under way": "bar", "completed (12 months)": "ok"}),
            "coverage": charts.coverage(coverage),
        })


@router.get("/static/adc.css")
def stylesheet():
    css = resources.files("adc.ui").joinpath("static/adc.css").read_text(encoding="utf-8")
    return Response(css, media_type="text/css", headers={"Cache-Control": "private, max-age=3600"})
