"""One error boundary for the whole app.

JSON requests (``/api/…`` or ``Accept: application/json``) always get
``{"ok": false, "error": str, "errors": [...], "status": int}``; pages get a
friendly HTML error page. Both come from :func:`handle_error`.
"""
from __future__ import annotations

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, UnprocessableEntity

from matcher import MatcherError
from matcher.errors import PROBLEM_KEYS, problem


class ValidationFailed(UnprocessableEntity):
    """422 with a list of problems, each in matcher's one shape (:func:`matcher.errors.problem`: file, row,
    column, field, value, allowed, message); callers may give only some keys, e.g. ``field`` and ``message``."""

    def __init__(self, message, errors=()):
        super().__init__(message)
        self.errors = [problem(p.get("message") or str(message), **{k: p.get(k) for k in PROBLEM_KEYS
                                                                    if k != "message"}) for p in errors]


def wants_json():
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def handle_error(error):
    """Turn any exception into the JSON error shape or an HTML error page."""
    if isinstance(error, MatcherError):
        error = ValidationFailed(str(error), getattr(error, "problems", ()))
    elif not isinstance(error, HTTPException):
        from flask import current_app

        current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
        error = InternalServerError()
    status = error.code or 500
    message = _message(error)
    if wants_json():
        errors = [_plain(p) for p in getattr(error, "errors", [])]
        response = jsonify({"ok": False, "error": message, "errors": errors, "status": status})
        response.status_code = status
        return response
    return render_template("errors/error.html", status=status, message=message, typed=_typed(error)), status


def _typed(error):
    """What the user typed into a form refused as expired, to copy into the form again (never passwords)."""
    if not isinstance(error, CSRFError) or request.method != "POST":
        return []
    return [(name, value) for name, value in request.form.items(multi=True)
            if value.strip() and name not in ("csrf_token", "next") and "password" not in name][:30]


def _message(error):
    if isinstance(error, CSRFError):
        return _("表单已过期或来源无效，请刷新页面后重试。")
    if isinstance(error, ValidationFailed) or error.code in (400, 422):
        return error.description
    from .access import AccessDenied

    if isinstance(error, AccessDenied):
        return error.description
    return {
        401: _("请先登录。"),
        403: _("没有权限执行此操作。"),
        404: _("页面或数据不存在。"),
        405: _("不支持该请求方法。"),
        413: _("上传的文件太大（上限 %(mib)s MiB）。", mib=_max_mib()),
        415: _("请求须为 JSON（Content-Type: application/json）。"),
        500: _("服务器内部错误，请稍后重试或联系管理员。"),
    }.get(error.code, error.description or error.name)


def _max_mib():
    from flask import current_app

    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return f"{limit / 2**20:.3g}"


def _plain(item):
    def plain(value):
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
    return {key: plain(value) for key, value in dict(item).items()}


def init_app(app):
    app.register_error_handler(HTTPException, handle_error)
    app.register_error_handler(MatcherError, handle_error)
    app.register_error_handler(Exception, handle_error)
