"""ADC's register in the Airflow UI: the app adc.ui serves under /adc, and "ADC Register" under Browse.

This file only wires Airflow's login into the app. Plugin routes have no authentication of their
own, so every request goes through Airflow's: the UI's session cookie or a Bearer token
(GetUserDep: 401 without one). Reading the register needs what Airflow's role "viewer" and above
may do to DAGs (is_authorized_dag GET), changing it what "user" and above may (PUT), so both follow
whichever auth manager is configured (a user without permissions gets 403 from every route).

Airflow imports plugins in every component (the scheduler, the DAG processor, each task), but only
the api-server serves the app: it is built on its first request, so nothing else pays for it.
"""

# (no `from __future__ import annotations`: FastAPI reads the dependency's annotations at runtime)
from typing import Annotated

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/adc"


class RegisterApp:
    """An ASGI app that builds the register UI the first time the api-server sends it a request."""

    def __init__(self) -> None:
        self._app = None

    async def __call__(self, scope, receive, send) -> None:
        if self._app is None:
            self._app = build()
        await self._app(scope, receive, send)


def build():
    # imported on the api-server's first request: Airflow imports plugins in every component (and each task)
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
    from airflow.api_fastapi.core_api.security import GetUserDep, bearer_scheme
    from airflow.configuration import conf
    from fastapi import Depends, Request
    from fastapi.security import HTTPAuthorizationCredentials

    from adc.ui.app import create_app
    from adc.ui.auth import Person, browser_session, groups_of

    # ``bearer`` is the very dependency GetUserDep reads the Authorization header with (FastAPI runs it
    # once per request), so the session is what Airflow's own login went by
    def identify(request: Request, user: GetUserDep,
                 bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]) -> Person:
        auth = get_auth_manager()
        return Person(
            user_id=user.get_id(),
            name=user.get_name(),
            can_read=auth.is_authorized_dag(method="GET", user=user),
            can_change=auth.is_authorized_dag(method="PUT", user=user),
            session=browser_session(request, bearer, COOKIE_NAME_JWT_TOKEN),
            groups=groups_of(user),
        )

    return create_app(identify=identify, csrf_secret=conf.get("api", "secret_key").encode(),
                      login_url=get_auth_manager().get_url_login(next_url=f"{URL_PREFIX}/"))


class AdcRegisterPlugin(AirflowPlugin):
    name = "adc_register_ui"
    fastapi_apps = [{"app": RegisterApp(), "url_prefix": URL_PREFIX, "name": "ADC register"}]
    external_views = [{
        "name": "ADC Register",
        "href": f"{URL_PREFIX}/",
        "destination": "nav",
        "category": "browse",
        "url_route": "adc-register",
    }]
