"""Deployment checks of charts/zhongtai and k8s/ (run by scripts/check-deploy.sh)."""
