"""Results per question, with charts drawn on the server (being written)."""
from flask import Blueprint, render_template

from .auth import access
from .console import form_or_404, label

bp = Blueprint("results", __name__, url_prefix="/console")


@bp.get("/forms/<form_id>/results")
@access("coordinator")
def results(form_id):
    form = form_or_404(form_id)
    return render_template("console/results.html", form=form, title=label(form, form.title))
