"""The Bitbucket REST emulator end to end, over real HTTP, with responses checked against the OpenAPI schemas."""

from __future__ import annotations

import re

import httpx

from sandbox import Sandbox
from tests.sandbox.bitbucket.helpers import anonymous, api, assert_conforms, assert_schema

R = "/repositories/{workspace}/{repo_slug}"
HEX40 = re.compile(r"^[0-9a-f]{40}$")


def test_user_and_workspaces(sandbox: Sandbox) -> None:
    with api(sandbox) as c:
        me = c.get("user")
        assert_conforms("get", "/user", me)
        assert me.json()["uuid"].startswith("{") and me.json()["uuid"].endswith("}")
        assert me.json()["display_name"] == "Alice Archer"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", me.json()["created_on"])
        ws = c.get("user/workspaces")
        assert_conforms("get", "/user/workspaces", ws)
        assert [v["workspace"]["slug"] for v in ws.json()["values"]] == ["acme", "solo"]
        assert all(v["administrator"] for v in ws.json()["values"])
        for path, template in (
            ("workspaces", "/workspaces"),
            ("workspaces/acme", "/workspaces/{workspace}"),
            ("workspaces/acme/members", "/workspaces/{workspace}/members"),
            ("user/permissions/workspaces", "/user/permissions/workspaces"),
        ):
            r = c.get(path)
            assert r.status_code == 200, r.text
            assert_conforms("get", template, r)
        members = c.get("workspaces/acme/members").json()
        assert members["pagelen"] == 50
        assert sorted(m["user"]["nickname"] for m in members["values"]) == ["alice", "bob"]
        assert c.get("workspaces/nope").status_code == 404


def test_links_are_absolute_on_the_sandbox_host(sandbox: Sandbox) -> None:
    with api(sandbox) as c:
        repo = c.get("repositories/acme/widgets").json()
    base = sandbox.urls["bitbucket_api"]
    assert repo["links"]["self"]["href"] == f"{base}/repositories/acme/widgets"
    hrefs = [v["href"] for k, v in repo["links"].items() if k != "clone"]
    assert all(h.startswith(sandbox.urls["bitbucket_api"].rsplit("/2.0", 1)[0]) for h in hrefs)
    assert {c["name"] for c in repo["links"]["clone"]} == {"https", "ssh"}


def test_branch_off_main_commit_and_read_back(sandbox: Sandbox) -> None:
    with api(sandbox) as c:
        main = c.get("repositories/acme/widgets/refs/branches/main").json()
        head = main["target"]["hash"]
        assert HEX40.match(head)
        created = c.post(
            "repositories/acme/widgets/refs/branches", json={"name": "feature/x", "target": {"hash": head[:7]}}
        )
        assert created.status_code == 201, created.text
        assert_conforms("post", R + "/refs/branches", created)
        assert created.json()["target"]["hash"] == head
        assert created.headers["location"].endswith("/refs/branches/feature/x")
        again = c.post(
            "repositories/acme/widgets/refs/branches", json={"name": "feature/x", "target": {"hash": "main"}}
        )
        assert again.status_code == 400 and "already exists" in again.json()["error"]["message"]
        commit = c.post(
            "repositories/acme/widgets/src",
            data={
                "/src/widgets/new.py": "VALUE = 1\n",
                "message": "Add new.py",
                "branch": "feature/x",
                "author": "Alice Archer <alice@example.com>",
            },
        )
        assert commit.status_code == 201 and commit.content == b""
        new_head = c.get("repositories/acme/widgets/refs/branches/feature/x").json()["target"]
        assert new_head["hash"] != head and new_head["parents"][0]["hash"] == head
        assert new_head["message"] == "Add new.py"
        raw = c.get(f"repositories/acme/widgets/src/{new_head['hash']}/src/widgets/new.py")
        assert raw.status_code == 200 and raw.text == "VALUE = 1\n"
        assert raw.headers["content-type"] == "text/x-python"
        assert c.get(f"repositories/acme/widgets/src/{head}/src/widgets/new.py").status_code == 404
        diff = c.get(f"repositories/acme/widgets/diff/{new_head['hash']}")
        assert "+VALUE = 1" in diff.text and diff.headers["content-type"].startswith("text/plain")
        log = c.get("repositories/acme/widgets/commits/feature/x").json()
        assert [v["hash"] for v in log["values"]][:2] == [new_head["hash"], head]
        assert c.delete("repositories/acme/widgets/refs/branches/feature/x").status_code == 204
        assert c.get("repositories/acme/widgets/refs/branches/feature/x").status_code == 404


def test_src_reads_files_directories_and_meta(sandbox: Sandbox) -> None:
    with api(sandbox) as c:
        readme = c.get("repositories/acme/widgets/src/main/README.md")
        assert readme.headers["content-type"] == "text/markdown"
        assert readme.text.startswith("# Widgets")
        meta = c.get("repositories/acme/widgets/src/main/README.md", params={"format": "meta"})
        # The document's JSON schema for src is the listing; ?format=meta answers a commit_file.
        assert_schema("commit_file", meta.json())
        assert meta.json()["type"] == "commit_file" and meta.json()["size"] == len(readme.content)
        listing = c.get("repositories/acme/widgets/src/main/")
        assert_conforms("get", R + "/src/{commit}/{path}", listing)
        assert {(v["type"], v["path"]) for v in listing.json()["values"]} == {
            ("commit_file", "README.md"),
            ("commit_directory", "docs"),
            ("commit_directory", "src"),
        }
        deep = c.get("repositories/acme/widgets/src/main/src/", params={"max_depth": 3}).json()
        assert "src/widgets/app.py" in [v["path"] for v in deep["values"]]
        root = c.get("repositories/acme/widgets/src", follow_redirects=False)
        assert root.status_code == 302 and "/src/" in root.headers["location"]
        assert c.get("repositories/acme/widgets/src/main/../../etc/passwd").status_code in (400, 404)
        assert c.get("repositories/acme/widgets/src/nope/README.md").status_code == 404


def test_pull_request_lifecycle(sandbox: Sandbox) -> None:
    with api(sandbox) as alice, api(sandbox, "full", "bob") as bob:
        created = alice.post(
            "repositories/acme/widgets/pullrequests",
            json={
                "title": "Login form",
                "source": {"branch": {"name": "feature/login"}},
                "destination": {"branch": {"name": "main"}},
                "description": "Adds login",
            },
        )
        assert created.status_code == 201, created.text
        assert_conforms("post", R + "/pullrequests", created)
        pr = created.json()
        assert pr["state"] == "OPEN" and pr["id"] == 1 and pr["author"]["nickname"] == "alice"
        assert created.headers["location"] == pr["links"]["self"]["href"]
        listed = alice.get(
            "repositories/acme/widgets/pullrequests",
            params={"q": 'source.branch.name="feature/login" AND state="OPEN"'},
        )
        assert_conforms("get", R + "/pullrequests", listed)
        assert [p["id"] for p in listed.json()["values"]] == [1]
        assert "reviewers" not in listed.json()["values"][0]
        got = alice.get("repositories/acme/widgets/pullrequests/1")
        assert_conforms("get", R + "/pullrequests/{pull_request_id}", got)
        assert got.json()["reviewers"] == []
        comment = bob.post("repositories/acme/widgets/pullrequests/1/comments", json={"content": {"raw": "LGTM"}})
        assert comment.status_code == 201
        assert_conforms("post", R + "/pullrequests/{pull_request_id}/comments", comment)
        assert comment.json()["user"]["nickname"] == "bob"
        approval = bob.post("repositories/acme/widgets/pullrequests/1/approve")
        assert_conforms("post", R + "/pullrequests/{pull_request_id}/approve", approval)
        assert approval.json()["approved"] is True
        assert alice.post("repositories/acme/widgets/pullrequests/1/approve").status_code == 400  # own PR
        diff = alice.get("repositories/acme/widgets/pullrequests/1/diff", follow_redirects=False)
        assert diff.status_code == 302
        assert "+def login" in alice.get(diff.headers["location"]).text
        updated = alice.put("repositories/acme/widgets/pullrequests/1", json={"title": "Login form v2"})
        assert updated.json()["title"] == "Login form v2"
        merged = alice.post("repositories/acme/widgets/pullrequests/1/merge", json={"close_source_branch": True})
        assert merged.status_code == 200, merged.text
        assert_conforms("post", R + "/pullrequests/{pull_request_id}/merge", merged)
        assert merged.json()["state"] == "MERGED"
        head = alice.get("repositories/acme/widgets/refs/branches/main").json()["target"]
        assert len(head["parents"]) == 2
        assert alice.get(f"repositories/acme/widgets/src/{head['hash']}/src/widgets/login.py").status_code == 200
        assert alice.get("repositories/acme/widgets/refs/branches/feature/login").status_code == 404
        assert alice.get("repositories/acme/widgets/pullrequests").json()["values"] == []


def test_pull_request_errors(sandbox: Sandbox) -> None:
    with api(sandbox) as c:
        missing = c.post(
            "repositories/acme/widgets/pullrequests", json={"title": "x", "source": {"branch": {"name": "nope"}}}
        )
        assert missing.status_code == 400
        assert missing.json()["error"]["fields"]["source"] == ["branch not found: nope"]
        no_source = c.post("repositories/acme/widgets/pullrequests", json={"title": "x"})
        assert no_source.json()["error"]["detail"].startswith("You must specify a valid source branch")
        c.post(
            "repositories/acme/widgets/pullrequests",
            json={"title": "decline me", "source": {"branch": {"name": "feature/login"}}},
        )
        declined = c.post("repositories/acme/widgets/pullrequests/1/decline")
        assert declined.json()["state"] == "DECLINED"
        assert c.get("repositories/acme/widgets/pullrequests/99").status_code == 404


def test_issues_latest_open_and_comment(sandbox: Sandbox) -> None:
    with api(sandbox) as c:
        latest = c.get(
            "repositories/acme/widgets/issues",
            params={"q": 'state="open" OR state="new"', "sort": "-created_on", "pagelen": 1},
        )
        assert_conforms("get", R + "/issues", latest)
        issue = latest.json()["values"][0]
        assert issue["title"] == "Document the widget API" and latest.json()["size"] == 2
        posted = c.post(f"repositories/acme/widgets/issues/{issue['id']}/comments", json={"content": {"raw": "On it."}})
        assert posted.status_code == 201
        comments = c.get(f"repositories/acme/widgets/issues/{issue['id']}/comments").json()
        assert [x["content"]["raw"] for x in comments["values"]] == ["On it."]
        new = c.post(
            "repositories/acme/widgets/issues",
            json={"title": "New", "content": {"raw": "body"}, "kind": "task", "priority": "minor"},
        )
        assert new.status_code == 201 and new.json()["reporter"]["nickname"] == "alice"
        assert_conforms("post", R + "/issues", new)
        upd = c.put(f"repositories/acme/widgets/issues/{new.json()['id']}", json={"state": "resolved"})
        assert upd.json()["state"] == "resolved"
        assert c.put("repositories/acme/widgets/issues/1", json={"state": "bogus"}).status_code == 400
        assert c.delete(f"repositories/acme/widgets/issues/{new.json()['id']}").status_code == 204
        off = c.get("repositories/acme/gadgets/issues")
        assert off.status_code == 404 and "does not have the issue tracker enabled" in off.json()["error"]["message"]


def test_repositories_create_list_delete(sandbox: Sandbox) -> None:
    with api(sandbox) as c:
        created = c.post(
            "repositories/acme/fresh",
            json={"scm": "git", "is_private": True, "project": {"key": "WEB"}, "description": "d"},
        )
        assert created.status_code == 200, created.text
        assert_conforms("post", R, created)
        assert created.json()["project"]["key"] == "WEB"
        assert c.post("repositories/acme/fresh", json={}).status_code == 400
        listed = c.get("repositories/acme", params={"q": 'name ~ "FRE"', "sort": "-name"})
        assert [r["slug"] for r in listed.json()["values"]] == ["fresh"]
        assert c.get("repositories/acme/fresh/refs/branches/main").status_code == 200
        assert c.delete("repositories/acme/fresh").status_code == 204
        assert c.get("repositories/acme/fresh").status_code == 404


def test_snippets_and_comments(sandbox: Sandbox) -> None:
    with api(sandbox) as c:
        created = c.post(
            "snippets/acme",
            data={"title": "hello", "is_private": "true"},
            files={"file": ("hello.py", b"print('hi')\n")},
        )
        assert created.status_code == 201, created.text
        assert_conforms("post", "/snippets/{workspace}", created)
        encoded = created.json()["links"]["self"]["href"].rsplit("/", 1)[1]
        got = c.get(f"snippets/acme/{encoded}")
        assert_conforms("get", "/snippets/{workspace}/{encoded_id}", got)
        comment = c.post(f"snippets/acme/{encoded}/comments", json={"content": {"raw": "nice"}})
        assert comment.status_code == 201
        assert [x["content"]["raw"] for x in c.get(f"snippets/acme/{encoded}/comments").json()["values"]] == ["nice"]


def test_anonymous_and_unknown(sandbox: Sandbox) -> None:
    with anonymous(sandbox) as c:
        assert c.get("repositories/acme/widgets").status_code == 401
        assert c.get("user").status_code == 401
        unknown = c.get("no/such/route")
        assert unknown.status_code == 404 and unknown.json()["error"]["message"] == "Resource not found"
    bad = httpx.get(sandbox.urls["bitbucket_api"] + "/user", auth=("alice@example.com", "wrong"), trust_env=False)
    assert bad.status_code == 401
    assert bad.json() == {
        "type": "error",
        "error": {"message": "Token is invalid, expired, or not supported for this endpoint."},
    }
    _email, token = sandbox.api_token("full")
    as_bearer = httpx.get(
        sandbox.urls["bitbucket_api"] + "/user", headers={"Authorization": f"Bearer {token}"}, trust_env=False
    )
    assert as_bearer.status_code == 401
    classic = httpx.get(
        sandbox.urls["bitbucket_api"] + "/user",
        auth=("alice@example.com", "sandbox-apitoken-alice-classic"),
        trust_env=False,
    )
    assert classic.status_code == 401


def test_pagination_follows_absolute_links_across_pages(sandbox: Sandbox) -> None:
    with api(sandbox) as c:
        for i in range(22):
            assert c.post("repositories/acme/widgets/issues", json={"title": f"paged {i}"}).status_code == 201
        url: str | None = sandbox.urls["bitbucket_api"] + '/repositories/acme/widgets/issues?q=title~"paged"&pagelen=10'
        pages = []
        while url:
            assert url.startswith(sandbox.urls["bitbucket_api"] + "/")  # absolute, on the sandbox's own host
            body = c.get(url).json()
            pages.append(body)
            url = body.get("next")
    assert [p["page"] for p in pages] == [1, 2, 3]
    assert [len(p["values"]) for p in pages] == [10, 10, 2]
    assert all(p["size"] == 22 and p["pagelen"] == 10 for p in pages)
    assert "previous" not in pages[0] and "next" not in pages[2]
    assert "q=title" in pages[1]["previous"] and "page=1" in pages[1]["previous"]
    titles = [v["title"] for p in pages for v in p["values"]]
    assert sorted(titles) == sorted(f"paged {i}" for i in range(22))


def test_pagelen_outside_one_to_one_hundred_is_refused(sandbox: Sandbox) -> None:
    with api(sandbox) as c:
        for bad in ("0", "101", "ten"):
            response = c.get("repositories/acme/widgets/issues", params={"pagelen": bad})
            assert response.status_code == 400, bad
            assert "pagelen" in response.json()["error"]["fields"]


def test_a_repository_created_again_numbers_issues_and_pull_requests_from_one(sandbox: Sandbox) -> None:
    with api(sandbox) as c:
        for _ in range(2):
            assert c.post("repositories/acme/again", json={"scm": "git"}).status_code == 200
            c.post("repositories/acme/again/src", data={"/README.md": "hi", "message": "init"}).raise_for_status()
            c.post("repositories/acme/again/src", data={"/a.txt": "a", "branch": "topic"}).raise_for_status()
            issue = c.post("repositories/acme/again/issues", json={"title": "t"}).json()
            pr = c.post(
                "repositories/acme/again/pullrequests", json={"title": "p", "source": {"branch": {"name": "topic"}}}
            ).json()
            assert (issue["id"], pr["id"]) == (1, 1)
            assert c.delete("repositories/acme/again").status_code == 204


def test_an_encoded_slash_keeps_a_branch_name_in_one_segment(sandbox: Sandbox) -> None:
    with api(sandbox) as c:
        head = c.get("repositories/acme/widgets/refs/branches/feature%2Flogin").json()["target"]["hash"]
        login = c.get("repositories/acme/widgets/src/feature%2Flogin/src/widgets/login.py")
        assert login.status_code == 200 and "def login" in login.text
        assert c.get("repositories/acme/widgets/commit/feature%2Flogin").json()["hash"] == head
        assert c.get("repositories/acme/widgets/src/main%2Fnope/README.md").status_code == 404


def test_request_changes_then_withdraw_it(sandbox: Sandbox) -> None:
    with api(sandbox) as alice, api(sandbox, user="bob") as bob:
        pr = alice.post(
            "repositories/acme/widgets/pullrequests",
            json={"title": "Login", "source": {"branch": {"name": "feature/login"}}},
        ).json()
        base = f"repositories/acme/widgets/pullrequests/{pr['id']}/request-changes"
        assert alice.post(base).json()["error"]["message"] == "You can't request changes on your own pull request."
        assert bob.post(base).json()["state"] == "changes_requested"
        assert bob.delete(base).status_code == 204
        again = bob.delete(base)
        assert (again.status_code, again.json()["error"]["message"]) == (
            400,
            "You haven't requested changes on this pull request.",
        )
