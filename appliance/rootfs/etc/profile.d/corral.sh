# Corral appliance: the local corral CLI talks to this corrald's operator
# listener (HTTPS, its self-signed certificate pinned by the public-key
# fingerprint corral-setup saved) with the admin token (root only).
export CORRAL_URL=https://127.0.0.1:8443
if [ -r /run/corral-appliance/fingerprint ]; then
	CORRAL_FINGERPRINT=$(cat /run/corral-appliance/fingerprint)
	export CORRAL_FINGERPRINT
fi
if [ -r /var/lib/corral/system/admin-token ]; then
	CORRAL_TOKEN=$(cat /var/lib/corral/system/admin-token)
	export CORRAL_TOKEN
fi
