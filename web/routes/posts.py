"""Writing and reading posts: compose, thread, edit with history, delete, appreciate, boost,
pin news."""

from __future__ import annotations

from datetime import datetime

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fediverse_intranet.errors import DomainError, PermissionDenied
from fediverse_intranet.models import Announcement, Post, PostKind, Visibility
from fediverse_intranet.services import boosts, groups, memberships, posts, social, timelines
from fediverse_intranet.services.posts import MAX_IMAGES, Draft, ImageUpload
from web.context import Ctx, choice, field_text, read_form, view
from web.params import form_int, path_id, query_int
from web.routes.auth import safe_next
from web.timezone import parse_local_datetime


def _post_id(request: Request) -> int:
    return path_id(request, "post_id", "This post does not exist or you cannot see it.")


def _back(form: FormData, fallback: str) -> RedirectResponse:
    return RedirectResponse(safe_next(field_text(form, "next", 500) or fallback), status_code=303)


async def _images(form: FormData) -> list[ImageUpload]:
    images = []
    for slot in range(1, MAX_IMAGES + 1):
        upload = form.get(f"image_{slot}")
        if isinstance(upload, UploadFile) and upload.filename:
            data = await upload.read()
            images.append(ImageUpload(data, field_text(form, f"alt_{slot}", 2000)))
    return images


def _draft_values(form: FormData) -> dict[str, str]:
    return {
        "kind": field_text(form, "kind", 20) or "note",
        "title": field_text(form, "title", 1000),
        "source": field_text(form, "source"),
        "visibility": field_text(form, "visibility", 20) or "public",
        "in_reply_to": field_text(form, "in_reply_to", 20),
        "group": field_text(form, "group", 300),
    }


@view(uploads=True)
async def compose(request: Request, ctx: Ctx) -> Response:
    parent = None
    if request.method == "GET":
        values = {"kind": request.query_params.get("kind", "note"), "visibility": "public"}
        reply_to = query_int(request, "reply_to", low=1)
        if reply_to is not None:
            parent = await posts.visible_post(reply_to, ctx.actor)
            values.update(in_reply_to=str(parent.id), visibility=parent.visibility.value)
            values["in_group"] = "1" if parent.group_id else ""
            values["source"] = "" if parent.author_id == ctx.actor.id else f"@{_handle(parent)} "
        return ctx.page("posts/compose.html", form=values, parent=parent)
    form = await read_form(ctx, uploads=True)
    values = _draft_values(form)
    try:
        reply_id = form_int(form, "in_reply_to")
        if reply_id:
            parent = await posts.visible_post(reply_id, ctx.actor)
            values["in_group"] = "1" if parent.group_id else ""
        group = await groups.visible_group(values["group"], ctx.actor) if values["group"] else None
        draft = Draft(
            source=values["source"],
            kind=choice(PostKind, values["kind"], "kind"),
            title=values["title"],
            visibility=choice(Visibility, values["visibility"], "visibility"),
            images=await _images(form),
        )
        post = await posts.create_post(ctx.actor, draft, in_reply_to=reply_id, group=group)
    except DomainError as exc:
        return ctx.form_error("posts/compose.html", exc, form=values, parent=parent)
    return RedirectResponse(f"/posts/{post.id}", status_code=303)


def _handle(post: Post) -> str:
    author = post.author
    return author.username if author.is_local else f"{author.username}@{author.domain}"


@view()
async def show(request: Request, ctx: Ctx) -> Response:
    post, ancestors, replies = await posts.thread(_post_id(request), ctx.actor)
    views = await timelines.hydrate([p.id for p in [*ancestors, post, *replies]], ctx.actor)
    by_id = {v.post.id: v for v in views}
    pinned = await Announcement.filter(post_id=post.id).exists()
    focus = by_id[post.id]
    group = focus.post.group if focus.post.group_id else None
    moderates = group.id if group and await memberships.can_moderate(group, ctx.actor) else None
    root = await Post.filter(id=post.thread_root_id).first() if post.thread_root_id else post
    return ctx.page(
        "posts/thread.html",
        focus=focus,
        ancestors=[by_id[p.id] for p in ancestors if p.id in by_id],
        replies=[by_id[p.id] for p in replies if p.id in by_id],
        pinned=pinned,
        moderates=moderates,
        locked=root is not None and root.locked_at is not None,
        archived=group is not None and group.archived_at is not None,
        form={
            "in_reply_to": str(post.id),
            "visibility": post.visibility.value,
            "in_group": "1" if group else "",
        },
    )


@view()
async def edit(request: Request, ctx: Ctx) -> Response:
    assert ctx.account is not None
    post = await posts.visible_post(_post_id(request), ctx.actor)
    if post.author_id != ctx.actor.id:
        raise PermissionDenied("Only the author can edit this post.")
    if request.method == "GET":
        return ctx.page(
            "posts/edit.html", post=post, form={"source": post.source, "title": post.title}
        )
    form = await read_form(ctx)
    values = {"source": field_text(form, "source"), "title": field_text(form, "title", 1000)}
    try:
        await posts.edit_post(post.id, ctx.account, values["source"], values["title"])
    except DomainError as exc:
        return ctx.form_error("posts/edit.html", exc, post=post, form=values)
    return RedirectResponse(f"/posts/{post.id}", status_code=303)


@view()
async def delete(request: Request, ctx: Ctx) -> Response:
    assert ctx.account is not None
    post = await posts.visible_post(_post_id(request), ctx.actor)
    if request.method == "GET":
        return ctx.page("posts/delete.html", post=post)
    await read_form(ctx)
    await posts.delete_post(post.id, ctx.account)
    return RedirectResponse("/", status_code=303)


@view()
async def like(request: Request, ctx: Ctx) -> Response:
    form = await read_form(ctx)
    post_id = _post_id(request)
    await posts.set_like(post_id, ctx.actor, liked=request.url.path.endswith("/like"))
    return _back(form, f"/posts/{post_id}")


@view()
async def boost(request: Request, ctx: Ctx) -> Response:
    form = await read_form(ctx)
    post_id = _post_id(request)
    await boosts.set_boost(post_id, ctx.actor, boosted=request.url.path.endswith("/boost"))
    return _back(form, f"/posts/{post_id}")


@view()
async def history(request: Request, ctx: Ctx) -> Response:
    post, revisions = await posts.history(_post_id(request), ctx.actor)
    return ctx.page("posts/history.html", post=post, revisions=revisions)


@view()
async def pin(request: Request, ctx: Ctx) -> Response:
    assert ctx.account is not None
    form = await read_form(ctx)
    post_id = _post_id(request)
    if request.url.path.endswith("/unpin"):
        await social.unpin_announcement(ctx.account, post_id)
    else:
        until: datetime | None = parse_local_datetime(field_text(form, "until", 40), "until")
        await social.pin_announcement(ctx.account, post_id, until)
    return _back(form, f"/posts/{post_id}")


routes = [
    Route("/compose", compose, methods=["GET", "POST"]),
    Route("/posts/{post_id}", show),
    Route("/posts/{post_id}/edit", edit, methods=["GET", "POST"]),
    Route("/posts/{post_id}/delete", delete, methods=["GET", "POST"]),
    Route("/posts/{post_id}/like", like, methods=["POST"]),
    Route("/posts/{post_id}/unlike", like, methods=["POST"]),
    Route("/posts/{post_id}/boost", boost, methods=["POST"]),
    Route("/posts/{post_id}/unboost", boost, methods=["POST"]),
    Route("/posts/{post_id}/history", history),
    Route("/posts/{post_id}/pin", pin, methods=["POST"]),
    Route("/posts/{post_id}/unpin", pin, methods=["POST"]),
]
