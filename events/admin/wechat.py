"""Admin for WeChat Pay merchants. The API v3 key is write-only: the field starts empty,
empty means "keep", and lists show only whether it is set."""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from events.models import PayMerchant


class PayMerchantForm(forms.ModelForm):
    api_v3_key = forms.CharField(
        required=False,
        min_length=PayMerchant.API_V3_KEY_LENGTH,
        max_length=PayMerchant.API_V3_KEY_LENGTH,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        label=_("API v3 key"),
        help_text=_("32 characters, from the merchant platform (API安全 → APIv3密钥); leave empty to keep."),
    )

    class Meta:
        model = PayMerchant
        fields = [
            "mchid",
            "name",
            "appid",
            "api_v3_key",
            "platform_key_serial",
            "platform_public_key",
            "second_key_serial",
            "second_public_key",
            "is_active",
        ]
        widgets = {
            "platform_public_key": forms.Textarea(attrs={"rows": 8, "cols": 70}),
            "second_public_key": forms.Textarea(attrs={"rows": 8, "cols": 70}),
        }

    def clean_api_v3_key(self) -> str:
        entered = self.cleaned_data.get("api_v3_key") or ""
        if entered:
            return entered
        if self.instance.pk:
            return PayMerchant.objects.values_list("api_v3_key", flat=True).get(pk=self.instance.pk)
        raise forms.ValidationError(_("Enter the 32-character API v3 key."))


@admin.register(PayMerchant)
class PayMerchantAdmin(admin.ModelAdmin):
    form = PayMerchantForm
    list_display = ["mchid", "name", "appid", "platform_key_serial", "api_v3_key_status", "is_active", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["mchid", "name", "appid", "platform_key_serial"]
    readonly_fields = ["notify_url", "api_v3_key_status", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["mchid", "name", "appid", "is_active", "notify_url"]}),
        (_("API v3 key (write-only)"), {"fields": [("api_v3_key", "api_v3_key_status")]}),
        (_("WeChat Pay platform key"), {"fields": ["platform_key_serial", "platform_public_key"]}),
        (
            _("Second key (only while WeChat Pay migrates keys)"),
            {"fields": ["second_key_serial", "second_public_key"], "classes": ["collapse"]},
        ),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description=_("API v3 key"))
    def api_v3_key_status(self, merchant: PayMerchant) -> str:
        return "set" if merchant.api_v3_key else "not set"

    @admin.display(description=_("notify_url for orders"))
    def notify_url(self, merchant: PayMerchant) -> str:
        if not merchant.mchid:
            return "Shown after saving."
        return settings.PUBLIC_BASE_URL + reverse("wechat-pay-notify", args=[merchant.mchid])
