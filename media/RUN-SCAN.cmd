@echo off
rem RUN-SCAN.cmd: scan this running Windows host with the kit's audit-scan.exe (media/README.md,
rem "3b. Using it on a Windows host"). audit-kit build writes it at the top of every kit that
rem carries bin\windows\ (with Windows line ends); it is sealed in the kit manifest like any file.
rem
rem Run it from an elevated Command Prompt ("Run as administrator") on the host to audit:
rem     E:\RUN-SCAN.cmd                  (E: = the kit's drive; extra arguments are passed on)
rem audit-scan.exe first checks itself, the trust root, the manifests and the collector key
rem against the signed kit manifest (and refuses with exit code 3 when anything differs), then
rem scans the system drive read-only and writes one signed evidence file into the kit's
rem evidence folder. Nothing is written to the host.
rem Exit codes: 0 clean, 1 a product found or coverage insufficient, 2 usage error,
rem 3 the kit failed its self-check (stop, return the kit), 4 cannot read or write.
setlocal
set "KIT=%~dp0"
"%KIT%bin\windows\audit-scan.exe" --out "%KIT%evidence" %*
exit /b %ERRORLEVEL%
