"""The host's screen says so while the site cannot save and stops saying so
once a host action is saved again."""

from __future__ import annotations

from disk_faults import disk_refuses_writes
from game_screens import Screens, open_lobby
from playwright.sync_api import expect


def test_the_host_sees_a_banner_while_the_site_cannot_save(
    screens: Screens, live_site: str
) -> None:
    host, _ = open_lobby(screens, live_site, "Ann")
    host.get_by_role("button", name="Start").click()
    close_now = host.get_by_role("button", name="Close now")
    expect(close_now).to_be_visible()
    banner = host.locator("#write-warning")
    with disk_refuses_writes():
        close_now.click()
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("cannot save")
    expect(host.locator("#status")).to_contain_text("cannot save")
    close_now.click()
    expect(banner).to_be_hidden()
    expect(host.get_by_role("button", name="Next")).to_be_visible()
