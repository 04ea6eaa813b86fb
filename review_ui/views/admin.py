"""Accounts, for admins: list, add, disable and enable."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agent.models.tenancy import ROLES
from agent.services.operators import OperatorError
from review_ui.deps import Admin, form_fields, unit_of_work, verify_csrf
from review_ui.services.users import create_user, list_users, set_user_disabled
from review_ui.templating import flash, render

router = APIRouter(prefix="/admin", dependencies=[Depends(verify_csrf)], include_in_schema=False)
Form = Annotated[dict[str, str], Depends(form_fields)]


@router.get("/users", response_class=HTMLResponse)
async def users_page(request: Request, user: Admin) -> Response:
    async with unit_of_work(request) as session:
        rows = await list_users(session)
    return render(request, "users.html", {"users": rows, "roles": ROLES})


@router.post("/users")
async def add_user(request: Request, user: Admin, form: Form) -> Response:
    try:
        async with unit_of_work(request) as session:
            await create_user(
                session,
                username=form.get("username", "").strip(),
                role=form.get("role", ""),
                password=form.get("password", ""),
                actor=user.actor,
            )
    except OperatorError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, f"User {form.get('username')} created.")
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{username}/{action}")
async def toggle_user(request: Request, username: str, action: str, user: Admin) -> Response:
    try:
        if action not in ("disable", "enable"):
            raise OperatorError("unknown action")
        if action == "disable" and username.lower() == user.username.lower():
            raise OperatorError("you cannot disable your own account")
        async with unit_of_work(request) as session:
            await set_user_disabled(
                session, username=username, disabled=action == "disable", actor=user.actor
            )
    except OperatorError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, f"User {username} {action}d.")
    return RedirectResponse("/admin/users", status_code=303)
