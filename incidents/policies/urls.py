app_name = "policies"

urlpatterns: list = []
api_urlpatterns: list = []
