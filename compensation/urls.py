from django.urls import path

from compensation import apis, views

app_name = "compensation"

urlpatterns = [
    path("compensation/", views.proposal_queue, name="proposal_queue"),
    path("compensation/bulk-approve/", views.proposal_bulk_approve, name="proposal_bulk_approve"),
    path("compensation/<int:pk>/", views.proposal_detail, name="proposal_detail"),
    path("compensation/<int:pk>/approve/", views.proposal_approve, name="proposal_approve"),
    path("compensation/<int:pk>/reject/", views.proposal_reject, name="proposal_reject"),
    path("compensation/<int:pk>/cancel/", views.proposal_cancel, name="proposal_cancel"),
    path("compensation/<int:pk>/retry/", views.proposal_retry, name="proposal_retry"),
    path("compensation/cost/", views.cost, name="cost"),
    path("compensation/policies/", views.policy_list, name="policy_list"),
    path("compensation/policies/new/", views.policy_create, name="policy_create"),
    path("compensation/policies/<int:pk>/", views.policy_detail, name="policy_detail"),
    path("compensation/limits/", views.limit_list, name="limit_list"),
    path("compensation/budgets/", views.budget_list, name="budget_list"),
    path("compensation/rates/", views.rate_list, name="rate_list"),
    path("compensation/fraud-flags/", views.fraud_flag_list, name="fraud_flag_list"),
]

api_urlpatterns = [
    path("compensations", apis.ProposalListApi.as_view(), name="proposal_list"),
    path("compensations/proposals", apis.ProposalCreateApi.as_view(), name="proposal_create"),
    path("compensations/fraud-flags", apis.FraudFlagRaiseApi.as_view(), name="fraud_flag_raise"),
    path("compensations/<int:pk>", apis.ProposalDetailApi.as_view(), name="proposal_detail"),
    path(
        "compensations/<int:pk>/approve", apis.ProposalApproveApi.as_view(), name="proposal_approve"
    ),
    path("compensations/<int:pk>/reject", apis.ProposalRejectApi.as_view(), name="proposal_reject"),
    path("compensations/<int:pk>/result", apis.ProposalResultApi.as_view(), name="proposal_result"),
]
