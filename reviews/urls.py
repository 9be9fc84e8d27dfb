app_name = "reviews"

urlpatterns: list = []
api_urlpatterns: list = []
