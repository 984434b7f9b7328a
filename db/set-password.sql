-- make db-password: gives the app's role the password of the secret file, for a data directory
-- made with another one. psql reads the password from its environment (\getenv), so it is on no
-- command line and in no log; :"role" and :'password' quote them.
\getenv password password
ALTER ROLE :"role" PASSWORD :'password';
