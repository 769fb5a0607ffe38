# Corral appliance: the local corral CLI talks to this corrald with the
# admin token (readable by root only).
export CORRAL_URL=http://127.0.0.1:8080
if [ -r /var/lib/corral/system/admin-token ]; then
	CORRAL_TOKEN=$(cat /var/lib/corral/system/admin-token)
	export CORRAL_TOKEN
fi
