"""Templates read their messages from the request locale's catalog (kept per locale for the process):
switching language, forcing a locale and Jinja's formatting behave as with Flask-Babel's own look-ups."""

from flask import render_template_string
from flask_babel import force_locale

from registry.auth.models import Role


def test_a_page_follows_the_language_switch_both_ways(client, district, make_user, login):
    login(make_user(Role.CLINIC_STAFF, district["hospital"]))
    assert "随访工作清单" in client.get("/cases/").get_data(as_text=True)
    client.post("/language/en")
    english = client.get("/cases/").get_data(as_text=True)
    assert "Follow-up worklist" in english and "随访工作清单" not in english
    client.post("/language/zh_CN")
    assert "随访工作清单" in client.get("/cases/").get_data(as_text=True)


def test_force_locale_and_newstyle_formatting_in_a_template(app):
    template = '{{ _("Follow-up worklist") }}|{{ _("Welcome, %(name)s", name="<b>") }}|{{ _("100%%") }}'
    with app.test_request_context("/"):
        chinese = render_template_string(template)
        with force_locale("en"):
            english = render_template_string(template)
        again = render_template_string(template)
    assert chinese.startswith("随访工作清单|") and "&lt;b&gt;" in chinese and chinese.endswith("|100%")
    assert english == "Follow-up worklist|Welcome, &lt;b&gt;|100%"
    assert again == chinese
