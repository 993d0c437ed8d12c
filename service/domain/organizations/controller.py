"""HTTP routes for organizations."""

from __future__ import annotations

from service.domain.organizations.schemas import (
    Organization,
    OrganizationCreate,
    OrganizationPage,
    OrganizationPatch,
)
from service.domain.organizations.service import organization_service as service
from service.domain.routes import NamedList, ResourceController, ResourceRoutes
from service.web.auth import public_read

ORGANIZATION_ROUTES = ResourceRoutes(
    name="Organization",
    function="organization",
    noun="an organization",
    service=service,
    struct=Organization,
    create=OrganizationCreate,
    patch=OrganizationPatch,
    named_list=NamedList(plural="Organizations", function="organizations", page=OrganizationPage),
)


class OrganizationController(ResourceController, routes=ORGANIZATION_ROUTES):
    path = "/v1/organizations"
    tags = ["Organizations"]
    guards = [public_read]
